// view_write.js — a gated write from the page: v_i ← g_i·w + (1−g_i)·v_i on the top-k slots of
// a query, g_i = σ(s_i + b). Shows each slot's gate and its value before and after, both read
// back from the API (before: the slots the same search finds, fetched just before the write).
import { call, mem_path } from "./api.js";
import { h, fill, field, say, num, parse_vector } from "./dom.js";
import { bar, range, sparkline } from "./svg.js";
import { get_slots } from "./slots.js";

export async function render(root, ctx) {
  const memory = ctx.memory;
  if (!memory) return root.append(h("p", { class: "muted" }, "No memory: create one first."));
  const { config } = await call("GET", mem_path(memory));
  const handoff = ctx.handoff; ctx.handoff = undefined;

  const query = h("textarea", { id: "write-query", rows: 2, cols: 60, placeholder: `${config.key_dim} numbers` });
  if (handoff && handoff.key) query.value = handoff.key.join(", ");
  const slot_id = h("input", { id: "write-slot", type: "number", min: 0, size: 8, placeholder: "slot id" });
  const value = h("textarea", { id: "write-value", rows: 2, cols: 60, placeholder: `${config.value_dim} numbers: the w written` });
  const k = h("input", { id: "write-k", type: "number", min: 1, value: 3 });
  const ef = h("input", { id: "write-ef", type: "number", min: 0, placeholder: "index default" });
  const nprobe = h("input", { id: "write-nprobe", type: "number", min: 0, placeholder: "index default" });
  const msg = h("p", { class: "msg" });
  const results = h("div", { id: "write-results" });

  const use_slot = h("button", { type: "button", id: "write-use-slot" }, "use this slot's key");
  use_slot.addEventListener("click", async () => {
    try {
      const s = await call("GET", mem_path(memory, `/slots/${slot_id.value}`));
      query.value = s.key.join(", ");
    } catch (e) { say(msg, e.message, "error"); }
  });

  const form = h("form", { id: "write-form" },
    h("div", { class: "row" }, field(`query (${config.key_dim} numbers)`, query),
      h("div", { class: "col" }, field("or a slot's key", slot_id), use_slot)),
    h("div", { class: "row" }, field(`value w (${config.value_dim} numbers)`, value)),
    h("div", { class: "row" }, field("k", k), field("ef", ef), field("nprobe", nprobe),
      h("span", { class: "muted" }, `gate bias b = ${num(config.gate_bias)} (memory's)`),
      h("button", { type: "submit", id: "write-run" }, "Write")));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    say(msg, "");
    try {
      const q = parse_vector(query.value), w = parse_vector(value.value);
      if (q.length !== config.key_dim) throw new Error(`the query has ${q.length} numbers; ${memory} takes ${config.key_dim}`);
      if (w.length !== config.value_dim) throw new Error(`w has ${w.length} numbers; ${memory} takes ${config.value_dim}`);
      const search = { queries: [q], k: +k.value };
      const params = {};
      if (ef.value) params.ef = +ef.value;
      if (nprobe.value) params.nprobe = +nprobe.value;
      if (Object.keys(params).length) search.params = params;
      // The slots the write will touch are the ones this search finds: read them first.
      const found = (await call("POST", mem_path(memory, "/search"), search)).ids[0].filter(i => i >= 0);
      const before = new Map((await get_slots(memory, found)).map(s => [s.id, s]));
      const r = await call("POST", mem_path(memory, "/write"), { ...search, values: [w] });
      const ids = r.ids[0], gates = r.gates[0];
      const after = new Map((await get_slots(memory, ids.filter(i => i >= 0))).map(s => [s.id, s]));
      fill(results, table(ids, gates, w, before, after));
      say(msg, `Wrote to ${ids.filter(i => i >= 0).length} slots.`, "ok");
    } catch (e) {
      say(msg, e.message, "error");
    }
  });
  root.append(h("h2", {}, `Gated write to ${memory}`),
    h("p", { class: "muted" }, "v ← g·w + (1−g)·v on the top-k slots of the query, g = σ(score + b). Keys are unchanged."),
    form, msg, results);
}

function table(ids, gates, w, before, after) {
  const rows = ids.map((id, i) => {
    if (id < 0) return null;
    const b = before.get(id), a = after.get(id);
    const g = gates[i];
    // What the formula says the value should now be, to check the server against.
    const expected = b ? b.value.map((v, j) => g * w[j] + (1 - g) * v) : null;
    const err = expected && a ? Math.max(...expected.map((e, j) => Math.abs(e - a.value[j]))) : null;
    // Before and after on one scale, so that the change shows.
    const scale = range([...(b ? b.value : []), ...(a ? a.value : [])]);
    return h("tr", { dataset: { id, gate: g, before: b ? JSON.stringify(b.value) : "", after: a ? JSON.stringify(a.value) : "" } },
      h("td", { class: "n" }, id),
      h("td", { class: "weight" }, bar(g), h("span", { class: "w" }, num(g))),
      h("td", {}, b ? sparkline(b.value, { scale }) : h("span", { class: "muted" }, "not found by the search before")),
      h("td", {}, a ? sparkline(a.value, { scale }) : "—"),
      h("td", { class: "n", title: "largest |after − (g·w + (1−g)·before)|" },
        err === null ? "—" : err < 1e-4 ? `✓ ${num(err, 2)}` : `✗ ${num(err, 2)}`),
      h("td", { class: "payload" }, a ? a.payload : ""));
  });
  return h("table", { class: "grid", id: "write-table" },
    h("thead", {}, h("tr", {}, ["id", "gate g", "value before", "value after", "matches g·w+(1−g)·v", "payload"].map(t => h("th", {}, t)))),
    h("tbody", {}, rows));
}
