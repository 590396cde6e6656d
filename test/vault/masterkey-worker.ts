// A worker thread that loads (or creates) a master key when the test releases it; posts the key it got.
import { parentPort, workerData } from "node:worker_threads";
import { loadMasterKey } from "../../src/vault/masterkey.js";

const { keyFile, gate } = workerData as { keyFile: string; gate: SharedArrayBuffer };
const flag = new Int32Array(gate);
Atomics.wait(flag, 0, 0); // all threads start together
loadMasterKey("local_key", { masterKey: keyFile, keyringLock: `${keyFile}.unused` }, { mayCreate: true }).then(
  (key) => parentPort!.postMessage({ key: key.toString("base64") }),
  (err: unknown) => parentPort!.postMessage({ error: String(err) }),
);
