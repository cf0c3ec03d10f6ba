// The ctest `adt_sdk`: runs the real `doppel serve` over TLS with a certificate made for this run,
// then sdk_calls.mjs (the official Azure Digital Twins JavaScript SDK) against it, in a child node
// process that trusts the certificate through NODE_EXTRA_CA_CERTS (node reads it only at start).
//
// Usage: node run.mjs DOPPEL_BINARY
// Exit: 0 when every SDK call passed and the server stopped cleanly; 1 otherwise.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.argv[2];
if (!binary || !fs.existsSync(binary)) {
  console.error(`adt_sdk: usage: node run.mjs DOPPEL_BINARY (got ${binary ?? "nothing"})`);
  process.exit(1);
}
if (!fs.existsSync(path.join(here, "node_modules", "@azure", "digital-twins-core"))) {
  console.error(
    `adt_sdk: @azure/digital-twins-core is not installed in ${here}/node_modules: run scripts/install-deps ` +
      `(it runs \`npm ci\` there)`,
  );
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "doppel-adt-sdk-"));
const project = path.join(dir, "project");
const data = path.join(dir, "data");
fs.mkdirSync(path.join(project, "models"), { recursive: true });
fs.mkdirSync(path.join(project, "tls"));
fs.writeFileSync(
  path.join(project, "doppel.yaml"),
  "name: adt-sdk\ntwins: []\napi:\n  tls: {cert: tls/cert.pem, key: tls/key.pem}\n",
);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    console.error(`adt_sdk: ${cmd} ${args.join(" ")} failed: ${r.error ?? ""}${r.stderr ?? ""}${r.stdout ?? ""}`);
    process.exit(1);
  }
  return r.stdout;
}

// A throwaway self-signed certificate for 127.0.0.1 (the SDK's bearer-token policy insists on https).
const cert = path.join(project, "tls", "cert.pem");
run("openssl", [
  "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
  "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2",
  "-keyout", path.join(project, "tls", "key.pem"), "-out", cert,
]);
// `token create` prints the token on its last line.
const token = run(binary, ["token", "create", project, "--data", data, "--role", "admin", "--name", "sdk"])
  .trim()
  .split("\n")
  .pop()
  .trim();

const server = spawn(binary, ["serve", project, "--listen", "127.0.0.1:0", "--data", data, "--mqtt", "off"], {
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
const serverExit = new Promise((resolve) => server.on("exit", (code, signal) => resolve({ code, signal })));
const url = await new Promise((resolve) => {
  const seen = (chunk) => {
    output += chunk;
    const m = output.match(/listening on (https:\/\/127\.0\.0\.1:\d+)/);
    if (m) resolve(m[1]);
  };
  server.stdout.on("data", seen);
  server.stderr.on("data", seen);
  serverExit.then(() => resolve(null));
});
if (!url) {
  console.error(`adt_sdk: doppel serve did not start:\n${output}`);
  process.exit(1);
}
console.log(`adt_sdk: doppel serve at ${url}, data in ${data}`);

const calls = spawn(process.execPath, [path.join(here, "sdk_calls.mjs")], {
  stdio: "inherit",
  env: { ...process.env, NODE_EXTRA_CA_CERTS: cert, DOPPEL_URL: url, DOPPEL_TOKEN: token },
});
const callsCode = await new Promise((resolve) => calls.on("exit", (code) => resolve(code ?? 1)));

server.kill("SIGTERM");
const { code, signal } = await serverExit;
let ok = callsCode === 0;
// A server that crashed or (under ASan) found a leak while serving the SDK fails the test too.
if (code !== 0) {
  console.error(`adt_sdk: doppel serve stopped with ${signal ? `signal ${signal}` : `exit code ${code}`}:\n${output}`);
  ok = false;
}
if (ok) fs.rmSync(dir, { recursive: true, force: true });
else console.error(`adt_sdk: FAILED (server files kept in ${dir})`);
process.exit(ok ? 0 : 1);
