// Element's crypto engine opening the bot's secret storage: what "verify with recovery key" does in Element.
// Env: HS_URL, USER_ID, ACCESS_TOKEN, DEVICE_ID (a new session of the bot's account), RECOVERY_KEY.
// Prints one JSON line: the master key Element sees and whether it could import the private keys from 4S
// (bootstrapCrossSigning then signs this new session with them; the test checks that on the server).
Promise.withResolvers ??= () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };

import * as sdk from "matrix-js-sdk";
import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("warn");
const env = process.env;
const key = decodeRecoveryKey(env.RECOVERY_KEY);
const client = sdk.createClient({
    baseUrl: env.HS_URL, userId: env.USER_ID, accessToken: env.ACCESS_TOKEN, deviceId: env.DEVICE_ID,
    cryptoCallbacks: { getSecretStorageKey: async ({ keys }) => [Object.keys(keys)[0], key] },
});
await client.initRustCrypto({ useIndexedDB: false });
const crypto = client.getCrypto();
const ready = Promise.withResolvers();
client.once(sdk.ClientEvent.Sync, (state) => (state === "PREPARED" ? ready.resolve() : ready.reject(state)));
await client.startClient({ initialSyncLimit: 1 });
await ready.promise;
await crypto.getUserDeviceInfo([env.USER_ID], true);  // the public identity, as after Element's first sync
const result = { secretStorageReady: await crypto.isSecretStorageReady() };
await crypto.bootstrapCrossSigning({});  // with keys in 4S and none local: imports them, signs this device
const status = await crypto.getCrossSigningStatus();
result.privateKeysInSecretStorage = status.privateKeysInSecretStorage;
result.privateKeysCachedLocally = status.privateKeysCachedLocally;
result.masterKey = await crypto.getCrossSigningKeyId();
console.log(JSON.stringify(result));
client.stopClient();
process.exit(0);
