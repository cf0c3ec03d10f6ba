// The usual calls of the official Azure Digital Twins JavaScript SDK (@azure/digital-twins-core),
// each checked, against a Doppel server: DOPPEL_URL (https://...), DOPPEL_TOKEN (an admin token),
// and NODE_EXTRA_CA_CERTS naming the server's certificate. run.mjs starts the server and this.
//
// Every call runs even when an earlier one failed (each check sets up what it needs or is skipped
// with the reason), so one run lists every call Doppel gets wrong. Exit 1 if any failed.
import assert from "node:assert/strict";
import { DigitalTwinsClient } from "@azure/digital-twins-core";

const url = process.env.DOPPEL_URL;
const token = process.env.DOPPEL_TOKEN;
if (!url || !token) {
  console.error("sdk_calls: set DOPPEL_URL and DOPPEL_TOKEN (run.mjs does)");
  process.exit(1);
}

// The SDK asks a TokenCredential for an Azure AD token; Doppel's API token stands in for it.
const credential = {
  getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600 * 1000 }),
};
const client = new DigitalTwinsClient(url, credential);

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`PASS ${name}`);
  } catch (e) {
    const status = e?.statusCode ? ` [HTTP ${e.statusCode}]` : "";
    const body = e?.response?.bodyAsText ? `\n     body: ${e.response.bodyAsText}` : "";
    results.push({ name, ok: false });
    console.log(`FAIL ${name}${status}: ${e?.message ?? e}${body}`);
  }
}
// The SDK's error for an HTTP status, with that status.
async function expectStatus(promise, status) {
  let err = null;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status}, the call succeeded`);
  assert.equal(err.statusCode, status, `expected HTTP ${status}, got ${err.statusCode}: ${err.message}`);
}
async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}
// Doppel's own route, to see that telemetry arrived (the pipeline applies it asynchronously).
async function latestTelemetry(id) {
  const r = await fetch(`${url}/digitaltwins/${encodeURIComponent(id)}/telemetry`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200, `GET /digitaltwins/${id}/telemetry: ${r.status}`);
  return r.json();
}
async function eventually(what, fn) {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never happened: ${what}`);
}

const ns = "dtmi:doppel:sdktest";
const motorId = `${ns}:Motor;1`;
const pumpId = `${ns}:Pump;1`;
const valveId = `${ns}:Valve;1`;
const models = [
  {
    "@id": motorId,
    "@type": "Interface",
    "@context": "dtmi:dtdl:context;2",
    displayName: "Motor",
    contents: [
      { "@type": "Property", name: "ratedPower", schema: "double" },
      { "@type": "Property", name: "mode", schema: "string", writable: true },
      { "@type": "Telemetry", name: "temperature", schema: "double" },
    ],
  },
  {
    "@id": pumpId,
    "@type": "Interface",
    "@context": "dtmi:dtdl:context;2",
    displayName: "Pump",
    contents: [
      // Not writable, as in most published ontologies: ADT lets API clients set it all the same.
      { "@type": "Property", name: "serialNumber", schema: "string" },
      { "@type": "Property", name: "targetSpeed", schema: "double", writable: true },
      { "@type": "Telemetry", name: "flow", schema: "double" },
      { "@type": "Component", name: "motor", schema: motorId },
      { "@type": "Relationship", name: "feeds", target: pumpId },
    ],
  },
  { "@id": valveId, "@type": "Interface", "@context": "dtmi:dtdl:context;2", displayName: "Valve" },
];

// --- models ---
await check("models.createModels", async () => {
  const created = await client.createModels(models);
  assert.deepEqual(created.map((m) => m.id).sort(), [motorId, pumpId, valveId].sort());
});
await check("models.listModels", async () => {
  const all = await collect(client.listModels([], true));
  const ids = all.map((m) => m.id);
  for (const id of [motorId, pumpId, valveId]) assert.ok(ids.includes(id), `${id} not listed in ${ids}`);
  assert.equal(all.find((m) => m.id === pumpId).model["@id"], pumpId, "includeModelDefinition");
});
await check("models.listModels of one model's dependencies, a page each", async () => {
  // listModels' own resultsPerPage is lost inside the SDK 1.1.0; byPage's maxPageSize is sent.
  const pages = await collect(client.listModels([pumpId], true).byPage({ maxPageSize: 1 }));
  assert.deepEqual(
    pages.map((p) => p.value.map((m) => m.id)),
    [[motorId], [pumpId]],
    "Pump and the Motor it holds, one page each, the SDK following nextLink",
  );
  assert.equal(pages[1].value[0].model["@id"], pumpId, "includeModelDefinition on the next page too");
});
await check("models.getModel", async () => {
  const m = await client.getModel(pumpId, true);
  assert.equal(m.id, pumpId);
  assert.equal(m.decommissioned, false);
  assert.equal(m.model["@id"], pumpId);
  assert.equal(m.displayName?.en, "Pump");
});
await check("models.decomissionModel", async () => {
  await client.decomissionModel(valveId); // sic: the SDK's spelling
  const m = await client.getModel(valveId);
  assert.equal(m.decommissioned, true);
});
await check("models.deleteModel", async () => {
  await client.deleteModel(valveId);
  await expectStatus(client.getModel(valveId), 404);
});

// --- twins ---
const pump = (id, extra = {}) => ({
  $metadata: { $model: pumpId },
  serialNumber: `SN-${id}`,
  targetSpeed: 1450,
  motor: { $metadata: {}, ratedPower: 55, mode: "auto" },
  ...extra,
});
let etag = null;
await check("twins.upsertDigitalTwin", async () => {
  const r = await client.upsertDigitalTwin("pump-1", JSON.stringify(pump("pump-1")));
  assert.equal(r.body.$dtId, "pump-1");
  assert.equal(r.body.serialNumber, "SN-pump-1");
  assert.ok(r.etag, "ETag header");
  assert.equal(r.etag, r.body.$etag);
  await client.upsertDigitalTwin("pump-2", JSON.stringify(pump("pump-2")));
});
await check("twins.upsertDigitalTwin ifNoneMatch on an existing twin: 412", async () => {
  await expectStatus(client.upsertDigitalTwin("pump-1", JSON.stringify(pump("pump-1")), { ifNoneMatch: "*" }), 412);
});
await check("twins.getDigitalTwin", async () => {
  const r = await client.getDigitalTwin("pump-1");
  assert.equal(r.body.$dtId, "pump-1");
  assert.equal(r.body.$metadata.$model, pumpId);
  assert.equal(r.body.targetSpeed, 1450);
  assert.ok(r.etag);
  etag = r.etag;
});
await check("twins.getDigitalTwin of a twin that does not exist: 404", async () => {
  await expectStatus(client.getDigitalTwin("no-such-twin"), 404);
});
let staleEtag = null;
await check("twins.updateDigitalTwin with ifMatch", async () => {
  assert.ok(etag, "needs the ETag from getDigitalTwin");
  const r = await client.updateDigitalTwin("pump-1", [{ op: "replace", path: "/targetSpeed", value: 1500 }], {
    ifMatch: etag,
  });
  assert.ok(r.etag && r.etag !== etag, `a new ETag (was ${etag}, now ${r.etag})`);
  staleEtag = etag;
  const after = await client.getDigitalTwin("pump-1");
  assert.equal(after.body.targetSpeed, 1500);
});
await check("twins.updateDigitalTwin with a stale ifMatch: 412", async () => {
  assert.ok(staleEtag, "needs the update with ifMatch");
  await expectStatus(
    client.updateDigitalTwin("pump-1", [{ op: "replace", path: "/targetSpeed", value: 1 }], { ifMatch: staleEtag }),
    412,
  );
  assert.equal((await client.getDigitalTwin("pump-1")).body.targetSpeed, 1500, "the refused patch changed nothing");
});

// --- components ---
await check("components.getComponent", async () => {
  const r = await client.getComponent("pump-1", "motor");
  assert.equal(r.body.ratedPower, 55);
  assert.equal(r.body.mode, "auto");
});
await check("components.updateComponent", async () => {
  await client.updateComponent("pump-1", "motor", [{ op: "replace", path: "/mode", value: "manual" }]);
  assert.equal((await client.getComponent("pump-1", "motor")).body.mode, "manual");
  assert.equal((await client.getDigitalTwin("pump-1")).body.motor.mode, "manual");
});

// --- relationships ---
const rel = { $relationshipId: "r1", $sourceId: "pump-1", $relationshipName: "feeds", $targetId: "pump-2" };
await check("relationships.upsertRelationship", async () => {
  const r = await client.upsertRelationship("pump-1", "r1", rel);
  assert.equal(r.body.$relationshipId, "r1");
  assert.equal(r.body.$targetId, "pump-2");
  assert.ok(r.etag);
  const got = await client.getRelationship("pump-1", "r1");
  assert.equal(got.body.$relationshipName, "feeds");
});
await check("relationships.listRelationships", async () => {
  const all = await collect(client.listRelationships("pump-1"));
  assert.deepEqual(
    all.map((r) => [r.$relationshipId, r.$targetId]),
    [["r1", "pump-2"]],
  );
});
await check("relationships.listIncomingRelationships", async () => {
  const all = await collect(client.listIncomingRelationships("pump-2"));
  assert.deepEqual(
    all.map((r) => [r.relationshipId, r.sourceId, r.relationshipName]),
    [["r1", "pump-1", "feeds"]],
  );
});
await check("relationships.deleteRelationship", async () => {
  await client.deleteRelationship("pump-1", "r1");
  assert.deepEqual(await collect(client.listRelationships("pump-1")), []);
  await expectStatus(client.getRelationship("pump-1", "r1"), 404);
});

// --- query, more twins than one page ---
await check("query.queryTwins with paging", async () => {
  for (let i = 3; i <= 25; i++) await client.upsertDigitalTwin(`pump-${i}`, JSON.stringify(pump(`pump-${i}`)));
  const q = `SELECT * FROM digitaltwins T WHERE IS_OF_MODEL(T, '${pumpId}')`;
  const ids = (await collect(client.queryTwins(q, 10))).map((t) => t.$dtId).sort();
  assert.deepEqual(ids, Array.from({ length: 25 }, (_, i) => `pump-${i + 1}`).sort());
  const pages = await collect(client.queryTwins(q, 10).byPage());
  assert.ok(pages.length >= 3, `25 twins at 10 a page: ${pages.length} page(s)`);
  for (const p of pages) assert.ok(p.value.length <= 10, `a page of ${p.value.length} (max-items-per-page 10)`);
  assert.ok(pages[0].continuationToken, "the first page has a continuationToken");
  assert.equal(pages.at(-1).continuationToken ?? undefined, undefined, "the last page has none");
});

// --- telemetry ---
await check("telemetry.publishTelemetry", async () => {
  await client.publishTelemetry("pump-1", { flow: 12.5 }, "msg-1");
  await eventually("flow of pump-1 in GET /digitaltwins/pump-1/telemetry", async () =>
    JSON.stringify(await latestTelemetry("pump-1")).includes("12.5"),
  );
});
// The SDK's README passes the payload as JSON text, which the SDK sends as a JSON string.
await check("telemetry.publishTelemetry with the payload as JSON text (the README's form)", async () => {
  await client.publishTelemetry("pump-1", '{"flow": 13.75}', "msg-1b");
  await eventually("flow 13.75 of pump-1 in GET /digitaltwins/pump-1/telemetry", async () =>
    JSON.stringify(await latestTelemetry("pump-1")).includes("13.75"),
  );
});
// SDK 1.1.0's publishComponentTelemetry(id, component, payload, messageId) hands its last two
// arguments to the generated sendComponentTelemetry(id, component, messageId, telemetry) in the
// wrong order: the message id goes out as the body and the payload as the Message-Id header. So
// the documented order cannot work against any server; called with the two swapped, it does.
await check("telemetry.publishComponentTelemetry (message id and payload swapped: SDK 1.1.0)", async () => {
  await client.publishComponentTelemetry("pump-1", "motor", "msg-2", { temperature: 71.25 });
  await eventually("motor temperature of pump-1 in GET /digitaltwins/pump-1/telemetry", async () =>
    JSON.stringify(await latestTelemetry("pump-1")).includes("71.25"),
  );
});
await check("telemetry.publishComponentTelemetry in the documented order is refused, not misread", async () => {
  await expectStatus(
    client.publishComponentTelemetry("pump-1", "motor", JSON.stringify({ temperature: 99.5 }), "msg-2b"),
    400,
  );
});
await check("telemetry.publishTelemetry for a twin that does not exist: 404", async () => {
  await expectStatus(client.publishTelemetry("no-such-twin", { flow: 1 }, "msg-3"), 404);
});

// --- clean up: twins, then their model ---
await check("twins.deleteDigitalTwin", async () => {
  await client.deleteDigitalTwin("pump-2");
  await expectStatus(client.getDigitalTwin("pump-2"), 404);
});

const failed = results.filter((r) => !r.ok);
console.log(`sdk_calls: ${results.length - failed.length} of ${results.length} calls passed`);
process.exit(failed.length ? 1 : 0);
