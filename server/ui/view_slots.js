// view_slots.js — a memory's slots a page at a time: payloads, keys and values as sparklines;
// open one to see all its numbers, use its key as a query, or erase it.
import { call, mem_path } from "./api.js";
import { h, fill, field, say, num } from "./dom.js";
import { sparkline } from "./svg.js";
import { page } from "./slots.js";

export async function render(root, ctx) {
  const memory = ctx.memory;
  if (!memory) return root.append(h("p", { class: "muted" }, "No memory: create one first."));
  const handoff = ctx.handoff; ctx.handoff = undefined;  // {open: id} from the query view
  const msg = h("p", { class: "msg" });
  const limit = h("select", { id: "page-size" }, [10, 20, 50, 100].map(n => h("option", { value: n, selected: n === 20 }, n)));
  const filter = h("input", { id: "slot-filter", placeholder: '{"field": "value"} (needs the scroll API)', size: 40 });
  const prev = h("button", { type: "button", id: "prev-page", disabled: true }, "‹ previous");
  const next = h("button", { type: "button", id: "next-page", disabled: true }, "next ›");
  const where = h("span", { class: "muted", id: "page-info" });
  const list = h("div", { id: "slot-list" });
  const detail = h("div", { id: "slot-detail" });
  root.append(h("h2", {}, `Slots of ${memory}`),
    h("form", { class: "row", onsubmit: ev => { ev.preventDefault(); restart(); } },
      field("per page", limit), field("filter", filter), h("button", { type: "submit" }, "Show"), prev, next, where),
    msg, detail, list);

  // Cursors of the pages seen so far, so that "previous" can go back (a cursor only goes on).
  let cursors = [null], at = 0;
  async function show() {
    say(msg, "");
    try {
      const r = await page(memory, { limit: +limit.value, cursor: cursors[at], filter: filter.value.trim() });
      cursors[at + 1] = r.next_cursor;
      prev.disabled = at === 0;
      next.disabled = r.next_cursor === null;
      where.textContent = `page ${at + 1} · ${r.slots.length} slots · ${r.via === "scroll" ? "scroll API" : "by id"}`;
      fill(list, slot_table(r.slots));
    } catch (e) {
      say(msg, e.message, "error");
    }
  }
  function restart() { cursors = [null]; at = 0; show(); }
  prev.addEventListener("click", () => { if (at > 0) { --at; show(); } });
  next.addEventListener("click", () => { if (cursors[at + 1] !== null) { ++at; show(); } });
  limit.addEventListener("change", restart);

  function slot_table(slots) {
    if (!slots.length) return h("p", { class: "muted" }, "No slots here.");
    return h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["id", "payload", "key", "value", ""].map(t => h("th", {}, t)))),
      h("tbody", {}, slots.map(s => h("tr", { dataset: { slot: s.id } },
        h("td", { class: "n" }, s.id),
        h("td", { class: "payload" }, short(s.payload)),
        h("td", {}, s.key ? sparkline(s.key) : "—"),
        h("td", {}, s.value ? sparkline(s.value) : "—"),
        h("td", {},
          h("button", { type: "button", class: "link", dataset: { open: s.id }, onclick: () => open(s.id) }, "open"),
          erase_button(s.id))))));
  }

  // Two clicks erase: the first turns the button into "erase slot N?".
  function erase_button(id) {
    const b = h("button", { type: "button", class: "danger", dataset: { erase: id } }, "erase");
    b.addEventListener("click", async () => {
      if (!b.classList.contains("armed")) {
        b.classList.add("armed");
        b.textContent = `erase slot ${id}?`;
        return;
      }
      try {
        await call("DELETE", mem_path(memory, `/slots/${id}`));
        say(msg, `Erased slot ${id}.`, "ok");
        fill(detail);
        show();
      } catch (e) {
        say(msg, e.message, "error");
      }
    });
    return b;
  }

  async function open(id) {
    try {
      const s = await call("GET", mem_path(memory, `/slots/${id}`));
      fill(detail, h("div", { class: "panel", id: "slot-open", dataset: { slot: s.id } },
        h("h3", {}, `Slot ${s.id}`, h("button", { type: "button", class: "link", onclick: () => fill(detail) }, "close")),
        h("pre", { class: "payload" }, pretty(s.payload)),
        vector_block("key", s.key), vector_block("value", s.value),
        h("div", { class: "row" },
          h("button", { type: "button", onclick: () => ctx.go("query", memory, { key: s.key, from: s.id }) }, "Use its key as a query"),
          h("button", { type: "button", onclick: () => ctx.go("write", memory, { key: s.key, from: s.id }) }, "Write near it"),
          erase_button(s.id))));
    } catch (e) {
      say(msg, e.message, "error");
    }
  }
  await show();
  if (handoff && handoff.open !== undefined) await open(handoff.open);
}

export function vector_block(name, v) {
  return h("div", { class: "vector" }, h("h4", {}, `${name} (${v.length})`),
    sparkline(v, { width: 480, height: 60, cls: "spark big" }),
    h("code", { class: "numbers" }, v.map(x => num(x)).join(", ")));
}

function short(p) {
  const t = typeof p === "string" ? p : JSON.stringify(p ?? "");
  return t.length > 80 ? `${t.slice(0, 80)}…` : t;
}

function pretty(p) {
  if (typeof p !== "string") return JSON.stringify(p, null, 2);
  try { return JSON.stringify(JSON.parse(p), null, 2); } catch { return p; }
}
