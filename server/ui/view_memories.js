// view_memories.js — every memory with its config and stats; create one; drop one after the
// user types its name (a drop deletes its data for good).
import { call, mem_path } from "./api.js";
import { h, fill, field, num, bytes, say } from "./dom.js";
import { parse as parse_prometheus, value as prom_value } from "./prometheus.js";

export async function render(root, ctx) {
  const msg = h("p", { class: "msg" });
  const table_box = h("div", { id: "memory-table" });
  const disk = h("span", { class: "muted", id: "disk-bytes" });
  root.append(h("h2", {}, "Memories ", disk), msg, table_box, create_form(ctx, msg, () => load()), drop_dialog());

  async function load() {
    const names = await ctx.refresh_names();
    const infos = await Promise.all(names.map(n => call("GET", mem_path(n)).catch(e => ({ name: n, error: e }))));
    fill(table_box, table(infos, ctx, msg, load));
    // Disk use is known for the database as a whole (the metrics' engram_disk_bytes).
    call("GET", "/v1/metrics").then(text => {
      const d = prom_value(parse_prometheus(text), "engram_disk_bytes");
      disk.textContent = d === undefined ? "" : `· database on disk: ${bytes(d)}`;
    }).catch(() => {});
  }
  await load();
}

// Seconds as the largest whole unit: "42 s", "7 min", "3 h", "2 d".
function age(s) {
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

function table(infos, ctx, msg, reload) {
  if (!infos.length) return h("p", { class: "muted" }, "No memories yet: create one below.");
  const head = ["name", "slots", "tombstones", "indexed", "index", "metric", "key dim", "value dim",
                "default k", "τ", "gate bias", "op seq", "checkpoint at", "replay", "on disk", "index file", "checkpoint age", ""];
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, head.map(t => h("th", {}, t)))),
    h("tbody", {}, infos.map(m => {
      if (m.error) return h("tr", {}, h("td", {}, m.name), h("td", { colspan: head.length - 1, class: "error" }, m.error.message));
      const c = m.config, st = m.stats;
      return h("tr", { dataset: { memory: m.name } },
        h("td", {}, h("a", { href: `#slots/${encodeURIComponent(m.name)}` }, m.name)),
        h("td", { class: "n", dataset: { field: "slots" } }, st.slots),
        h("td", { class: "n" }, st.tombstones),
        h("td", { class: "n" }, st.indexed),
        h("td", {}, c.index + (st.trained ? "" : " (untrained)")),
        h("td", {}, c.metric),
        h("td", { class: "n" }, c.key_dim),
        h("td", { class: "n" }, c.value_dim),
        h("td", { class: "n" }, c.default_k),
        h("td", { class: "n" }, num(c.temperature)),
        h("td", { class: "n" }, num(c.gate_bias)),
        h("td", { class: "n" }, st.op_seq),
        h("td", { class: "n", title: "op seq of the last index checkpoint" }, st.checkpoint_op_seq),
        h("td", { class: "n", title: "op-log records replayed if the server restarted now" }, st.op_seq - st.checkpoint_op_seq),
        h("td", { class: "n", title: "about how much the memory's records take in the database's RocksDB files (and memtables)", dataset: { field: "store-bytes" } },
          bytes(st.store_bytes)),
        h("td", { class: "n", title: "size of the index checkpoint on disk", dataset: { field: "index-bytes" } },
          st.index_bytes ? bytes(st.index_bytes) : "none yet"),
        h("td", { class: "n", title: "since the index checkpoint was written (or the memory opened)", dataset: { field: "checkpoint-age" } },
          age(st.checkpoint_age_s)),
        h("td", {},
          h("button", { type: "button", class: "link", onclick: () => ctx.go("query", m.name) }, "query"),
          h("button", { type: "button", class: "danger", dataset: { drop: m.name },
                        onclick: () => confirm_drop(m.name, msg, reload) }, "drop")));
    })));
}

function create_form(ctx, msg, reload) {
  const name = h("input", { name: "name", required: true, pattern: "[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,127}", placeholder: "name" });
  const key_dim = h("input", { name: "key_dim", type: "number", min: 1, max: 65536, required: true, value: 64 });
  const value_dim = h("input", { name: "value_dim", type: "number", min: 1, max: 65536, required: true, value: 64 });
  const metric = h("select", { name: "metric" }, h("option", { value: "ip" }, "inner product"), h("option", { value: "l2" }, "L2"));
  const index = h("input", { name: "index", value: "Flat", title: "a FAISS factory string: Flat, HNSW32, IVF1024,Flat, ..." });
  const default_k = h("input", { name: "default_k", type: "number", min: 1, value: 32 });
  const temperature = h("input", { name: "temperature", type: "number", step: "any", min: 0, value: 1 });
  const gate_bias = h("input", { name: "gate_bias", type: "number", step: "any", value: 0 });
  const form = h("form", { id: "create-form", class: "row" },
    field("name", name), field("key dim", key_dim), field("value dim", value_dim), field("metric", metric),
    field("index", index), field("default k", default_k), field("temperature", temperature), field("gate bias", gate_bias),
    h("button", { type: "submit" }, "Create"));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const config = {
      key_dim: +key_dim.value, value_dim: +value_dim.value, metric: metric.value, index: index.value,
      default_k: +default_k.value, temperature: +temperature.value, gate_bias: +gate_bias.value,
    };
    try {
      await call("PUT", mem_path(name.value), config);
      say(msg, `Created ${name.value}.`, "ok");
      ctx.go("memories", name.value);
    } catch (e) {
      say(msg, e.message, "error");
    }
    reload();
  });
  return h("details", { class: "panel" }, h("summary", {}, "Create a memory"), form);
}

// The confirmation: a dialog in which the memory's name must be typed before Drop is enabled.
function drop_dialog() {
  const input = h("input", { id: "drop-confirm-name", autocomplete: "off" });
  const ok = h("button", { id: "drop-confirm", type: "submit", class: "danger", disabled: true }, "Drop");
  const text = h("p", { id: "drop-text" });
  const dialog = h("dialog", { id: "drop-dialog" },
    h("form", { method: "dialog" }, text, field("type the name to confirm", input),
      h("div", { class: "row" }, h("button", { value: "cancel", formnovalidate: true }, "Cancel"), ok)));
  input.addEventListener("input", () => { ok.disabled = input.value !== dialog.dataset.name; });
  ok.addEventListener("click", () => { dialog.returnValue = "drop"; });
  return dialog;
}

function confirm_drop(name, msg, reload) {
  const dialog = document.getElementById("drop-dialog");
  dialog.dataset.name = name;
  document.getElementById("drop-text").textContent =
    `Drop memory "${name}"? Its slots, index and op log are deleted; this cannot be undone.`;
  document.getElementById("drop-confirm-name").value = "";
  document.getElementById("drop-confirm").disabled = true;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "drop") return;
    try {
      await call("DELETE", mem_path(name));
      say(msg, `Dropped ${name}.`, "ok");
    } catch (e) {
      say(msg, e.message, "error");
    }
    reload();
  };
  dialog.showModal();
}
