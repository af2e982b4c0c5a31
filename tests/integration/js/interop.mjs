// Element's crypto engine against Plenum: matrix-js-sdk 43 + Rust crypto, "exclude insecure devices" on.
// Env: HS_URL, USER_ID, ACCESS_TOKEN, DEVICE_ID, PASSWORD (an account made by the test), BOT_ID, TIMEOUT_MS.
// Creates an encrypted room, invites the bot, sends `!help`, waits for the bot's reply and prints one JSON
// line: {"joined", "replied", "decrypted", "body", "shieldColour", "shieldReason"} (enum names).
Promise.withResolvers ??= () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };

import * as sdk from "matrix-js-sdk";
import { EventShieldColour, EventShieldReason, OnlySignedDevicesIsolationMode } from "matrix-js-sdk/lib/crypto-api/index.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("warn");
const env = process.env;
const timeoutMs = Number(env.TIMEOUT_MS || 60000);
const result = { joined: false, replied: false, decrypted: false, body: null, shieldColour: null, shieldReason: null };
const finish = (code) => { console.log(JSON.stringify(result)); process.exit(code); };
setTimeout(() => finish(0), timeoutMs).unref?.();

const client = sdk.createClient({ baseUrl: env.HS_URL, userId: env.USER_ID, accessToken: env.ACCESS_TOKEN,
                                  deviceId: env.DEVICE_ID });
await client.initRustCrypto({ useIndexedDB: false });
const crypto = client.getCrypto();
crypto.setDeviceIsolationMode(new OnlySignedDevicesIsolationMode());
// like an Element user, the sender has cross-signing (the Rust engine refuses to encrypt in this mode otherwise)
await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: (makeRequest) => makeRequest({
        type: "m.login.password", identifier: { type: "m.id.user", user: env.USER_ID }, password: env.PASSWORD }),
});

const ready = Promise.withResolvers();
client.once(sdk.ClientEvent.Sync, (state) => (state === "PREPARED" ? ready.resolve() : ready.reject(state)));
await client.startClient({ initialSyncLimit: 10 });
await ready.promise;

const { room_id: roomId } = await client.createRoom({
    name: "Interop", invite: [env.BOT_ID],
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
});

const joined = Promise.withResolvers();
client.on(sdk.RoomStateEvent.Members, (event, state, member) => {
    if (state.roomId === roomId && member.userId === env.BOT_ID && member.membership === "join") joined.resolve();
});
if (client.getRoom(roomId)?.getMember(env.BOT_ID)?.membership === "join") joined.resolve();
await joined.promise;
result.joined = true;

const replied = Promise.withResolvers();
let sentId = null;
const seen = [];
const check = async (event) => {
    await client.decryptEventIfNeeded(event);
    const target = event.getContent()?.["m.relates_to"]?.["m.in_reply_to"]?.event_id;
    if (sentId !== null && target === sentId) replied.resolve(event);
};
client.on(sdk.RoomEvent.Timeline, (event, room) => {
    if (room?.roomId !== roomId || event.getSender() !== env.BOT_ID || !event.isEncrypted()) return;
    if (sentId === null) seen.push(event); else check(event);
});
sentId = (await client.sendTextMessage(roomId, "!help")).event_id;
seen.forEach(check);
const reply = await replied.promise;
result.replied = true;
result.decrypted = !reply.isDecryptionFailure() && reply.getType() === "m.room.message";
result.body = result.decrypted ? reply.getContent().body : null;
const info = await crypto.getEncryptionInfoForEvent(reply);
result.shieldColour = info ? EventShieldColour[info.shieldColour] : null;
result.shieldReason = info && info.shieldReason !== null ? EventShieldReason[info.shieldReason] : null;
client.stopClient();
finish(0);
