// view_query.js — a query against one memory: paste a vector, take a slot's key or (when the
// server runs a model) have the model encode text, run read, search or retrieve with k, τ and
// the index's search parameters, and see what came back: ids, scores, the attention weights as
// bars, payloads, and (read) the vector read.
import { call, mem_path } from "./api.js";
import { h, fill, field, say, num, parse_vector } from "./dom.js";
import { bar, sparkline } from "./svg.js";
import { get_slots } from "./slots.js";
import { vector_block } from "./view_slots.js";
import { loaded_model } from "./view_generate.js";

export async function render(root, ctx) {
  const memory = ctx.memory;
  if (!memory) return root.append(h("p", { class: "muted" }, "No memory: create one first."));
  const [{ config }, model] = await Promise.all([call("GET", mem_path(memory)), loaded_model()]);
  const handoff = ctx.handoff; ctx.handoff = undefined;

  const vector = h("textarea", { id: "query-vector", rows: 3, cols: 60,
    placeholder: `${config.key_dim} numbers, e.g. 0.1, -0.2, ... or [0.1, -0.2, ...]` });
  if (handoff && handoff.key) vector.value = handoff.key.join(", ");
  const slot_id = h("input", { id: "query-slot", type: "number", min: 0, size: 8, placeholder: "slot id",
                               value: handoff && handoff.from !== undefined ? handoff.from : undefined });
  const op = h("select", { id: "query-op" }, ["read", "search", "retrieve"].map(o => h("option", { value: o }, o)));
  const k = h("input", { id: "query-k", type: "number", min: 1, value: Math.min(config.default_k, 10) });
  const tau = h("input", { id: "query-temperature", type: "number", step: "any", min: 0, placeholder: `${config.temperature} (memory's)` });
  const ef = h("input", { id: "query-ef", type: "number", min: 0, placeholder: "index default" });
  const nprobe = h("input", { id: "query-nprobe", type: "number", min: 0, placeholder: "index default" });
  const filter = h("input", { id: "query-filter", size: 30, placeholder: '{"lang": "en"}' });
  const msg = h("p", { class: "msg" });
  const results = h("div", { id: "query-results" });

  const use_slot = h("button", { type: "button", id: "query-use-slot" }, "use this slot's key");
  use_slot.addEventListener("click", async () => {
    try {
      const s = await call("GET", mem_path(memory, `/slots/${slot_id.value}`));
      vector.value = s.key.join(", ");
      say(msg, `Query = key of slot ${s.id}.`, "ok");
    } catch (e) { say(msg, e.message, "error"); }
  });

  // With a model loaded: text → the query its memory sublayer makes (POST /v1/model/encode).
  let from_text = null;
  if (model) {
    const text = h("input", { id: "query-text", size: 36, placeholder: "text for the model to encode" });
    const encode = h("button", { type: "button", id: "query-encode" }, "encode");
    encode.addEventListener("click", async () => {
      try {
        const r = await call("POST", "/v1/model/encode", { text: text.value });
        vector.value = r.key.join(", ");
        const fits = r.dim === config.key_dim ? "" : ` (${memory} takes ${config.key_dim} numbers, the model makes ${r.dim})`;
        say(msg, `Query = the model's query after "${text.value}"${fits}.`, fits ? "error" : "ok");
      } catch (e) { say(msg, e.message, "error"); }
    });
    from_text = h("div", { class: "col" }, field("or text (the model encodes it)", text), encode);
  }

  const form = h("form", { id: "query-form" },
    h("div", { class: "row" }, field(`query (${config.key_dim} numbers)`, vector),
      h("div", { class: "col" }, field("or a slot's key", slot_id), use_slot), from_text),
    h("div", { class: "row" }, field("operation", op), field("k", k), field("temperature τ (read)", tau),
      field("ef (HNSW)", ef), field("nprobe (IVF)", nprobe), field("filter", filter),
      h("button", { type: "submit", id: "query-run" }, "Run")));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    say(msg, "");
    try {
      const q = parse_vector(vector.value);
      if (q.length !== config.key_dim) throw new Error(`the query has ${q.length} numbers; ${memory} takes ${config.key_dim}`);
      const body = { queries: [q], k: +k.value };
      const params = {};
      if (ef.value) params.ef = +ef.value;
      if (nprobe.value) params.nprobe = +nprobe.value;
      if (Object.keys(params).length) body.params = params;
      if (filter.value.trim()) body.filter = JSON.parse(filter.value);
      if (op.value === "read" && tau.value) body.temperature = +tau.value;
      if (op.value !== "read") body.payloads = true;
      const t0 = performance.now();
      const r = await call("POST", mem_path(memory, `/${op.value}`), body);
      const ms = performance.now() - t0;
      fill(results, await show(op.value, r, tau.value ? +tau.value : config.temperature));
      say(msg, `${op.value}: ${r.ids[0].filter(i => i >= 0).length} slots in ${ms.toFixed(1)} ms.`, "ok");
    } catch (e) {
      say(msg, e.message, "error");
    }
  });
  root.append(h("h2", {}, `Query ${memory}`), form, msg, results);

  async function show(kind, r, temperature) {
    const ids = r.ids[0];
    const live = ids.filter(i => i >= 0);
    // read answers weights but no payloads: fetch the slots it read.
    const slots = kind === "read" ? new Map((await get_slots(memory, live)).map(s => [s.id, s])) : new Map();
    const scores = r.scores ? r.scores[0] : null;
    // search and retrieve answer scores; their softmax at τ is what a read would weigh them by.
    const weights = kind === "read" ? r.weights[0] : softmax(scores, temperature);
    const max_w = Math.max(...weights.filter(Number.isFinite), 1e-12);
    const head = ["#", "id", ...(scores ? ["score"] : []),
                  kind === "read" ? "weight α" : `softmax(s/τ), τ=${num(temperature)}`, "payload",
                  ...(kind === "search" ? [] : ["key", "value"])];
    const rows = ids.map((id, i) => {
      if (id < 0) return null;
      const s = slots.get(id);
      const payload = kind === "read" ? s && s.payload : r.payloads[0][i];
      const key = kind === "retrieve" ? r.keys[0][i] : s && s.key;
      const value = kind === "retrieve" ? r.values[0][i] : s && s.value;
      return h("tr", { dataset: { id, weight: weights[i], score: scores ? scores[i] : undefined } },
        h("td", { class: "n" }, i + 1),
        h("td", { class: "n" }, h("a", { href: `#slots/${encodeURIComponent(memory)}`,
          onclick: ev => { ev.preventDefault(); ctx.go("slots", memory, { open: id }); } }, id)),
        scores ? h("td", { class: "n" }, num(scores[i])) : null,
        h("td", { class: "weight" }, bar(weights[i], { max: max_w }), h("span", { class: "w" }, num(weights[i]))),
        h("td", { class: "payload" }, payload ?? ""),
        kind === "search" ? null : h("td", {}, key ? sparkline(key) : ""),
        kind === "search" ? null : h("td", {}, value ? sparkline(value) : ""));
    });
    const table = h("table", { class: "grid", id: "query-table" },
      h("thead", {}, h("tr", {}, head.map(t => h("th", {}, t)))), h("tbody", {}, rows));
    return [table, kind === "read" ? h("div", { id: "read-vector" }, vector_block("read vector", r.reads[0])) : null];
  }
}

function softmax(scores, temperature) {
  const finite = scores.map(s => (s === null ? -Infinity : s / temperature));
  const m = Math.max(...finite);
  const e = finite.map(x => (Number.isFinite(x) ? Math.exp(x - m) : 0));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map(x => x / z);
}
