// A real Secret Service, the system keyring that keyring mode keeps the master key in: Debian's
// gnome-keyring on a private D-Bus session bus, its login keyring unlocked with a test password
// and stored in a temp dir, so tests never touch (or start) the machine's own. The bus has no
// service directories: nothing is started on demand, and a client finds exactly this keyring.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir } from "../helpers.js";

export interface SecretService {
  /** What a client needs to reach it (DBUS_SESSION_BUS_ADDRESS). */
  env: Record<string, string>;
  close(): Promise<void>;
}

const busConfig = (address: string): string => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export async function startSecretService(): Promise<SecretService> {
  const dir = tempDir("authsome-keyring-");
  const data = join(dir, "data");
  mkdirSync(data, { mode: 0o700 });
  const address = `unix:path=${join(dir, "bus")}`;
  writeFileSync(join(dir, "bus.conf"), busConfig(address));
  const env = { DBUS_SESSION_BUS_ADDRESS: address };
  const started: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    for (const p of started.reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      p.kill();
      await once(p, "exit");
    }
  };
  try {
    // (its stderr says it may not raise its descriptor limit, which does not matter here)
    const bus = spawn("dbus-daemon", [`--config-file=${join(dir, "bus.conf")}`, "--nofork", "--print-address=1"], { stdio: ["ignore", "pipe", "ignore"] });
    started.push(bus);
    // it prints its address once it listens
    const listening = await Promise.race([once(bus.stdout!, "data").then(() => true), once(bus, "exit").then(() => false)]);
    if (!listening) throw new Error(`dbus-daemon did not start (exit ${bus.exitCode})`);
    // the login keyring is made (and unlocked) with the password read from stdin
    const keyring = spawn("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
      env: { ...process.env, ...env, HOME: dir, XDG_DATA_HOME: data, XDG_RUNTIME_DIR: dir },
      stdio: ["pipe", "ignore", "ignore"],
    });
    started.push(keyring);
    keyring.stdin!.end("authsome-test-keyring");
    // ready once it owns its bus name
    const ping = ["--session", "--print-reply", "--dest=org.freedesktop.secrets", "/org/freedesktop/secrets", "org.freedesktop.DBus.Peer.Ping"];
    for (let i = 0; spawnSync("dbus-send", ping, { env: { ...process.env, ...env } }).status !== 0; i++) {
      if (i === 100 || keyring.exitCode !== null) throw new Error("gnome-keyring-daemon did not start (is Debian's gnome-keyring installed?)");
      await sleep(50);
    }
    return { env, close };
  } catch (err) {
    await close();
    throw err;
  }
}
