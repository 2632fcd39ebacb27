// app.js — the console's frame: the token screen, the header (views, memory picker) and the
// hash routing between views (#memories, #slots/NAME, #query/NAME, ...). Each view is a module
// with render(container, ctx) that may return a function to call when the view is left (to
// stop its timers).
import { call, set_token, token, when_unauthenticated } from "./api.js";
import { h, fill } from "./dom.js";
import * as memories from "./view_memories.js";
import * as slots from "./view_slots.js";
import * as query from "./view_query.js";
import * as write from "./view_write.js";
import * as metrics from "./view_metrics.js";
import * as training from "./view_training.js";
import * as generate from "./view_generate.js";

const views = { memories, slots, query, write, metrics, generate, training };
const MEMORY_KEY = "engram.memory";
const $ = id => document.getElementById(id);

let leave = null;      // the current view's clean-up
let names = [];        // memory names, refreshed when a view asks

// What views may use: the chosen memory, moving to another view, refreshing the memory list.
const ctx = {
  get memory() { return sessionStorage.getItem(MEMORY_KEY) || ""; },
  go(view, memory, extra) {
    if (memory !== undefined) sessionStorage.setItem(MEMORY_KEY, memory);
    ctx.handoff = extra;  // e.g. a query vector from the slots view
    const hash = `#${view}${ctx.memory ? "/" + encodeURIComponent(ctx.memory) : ""}`;
    // The same hash fires no hashchange: render again ourselves (a new handoff must show).
    if (location.hash === hash) route(); else location.hash = hash;
  },
  refresh_names,
  handoff: undefined,
};

async function refresh_names() {
  names = (await call("GET", "/v1/memories")).memories;
  const picker = $("memory-picker");
  if (!names.includes(ctx.memory)) sessionStorage.setItem(MEMORY_KEY, names[0] || "");
  fill(picker, names.map(n => h("option", { value: n, selected: n === ctx.memory }, n)));
  picker.disabled = names.length === 0;
  return names;
}

function route() {
  const [view_name, memory] = location.hash.replace(/^#/, "").split("/");
  const name = views[view_name] ? view_name : "memories";
  if (memory) sessionStorage.setItem(MEMORY_KEY, decodeURIComponent(memory));
  if (leave) { leave(); leave = null; }
  for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("active", a.dataset.view === name);
  $("memory-picker").value = ctx.memory;
  const container = fill($("view"));
  container.dataset.view = name;
  Promise.resolve(views[name].render(container, ctx))
    .then(f => {
      leave = typeof f === "function" ? f : null;
      // The first view drawn: what the page-load measurement (console_test.py) waits for.
      if (!performance.getEntriesByName("engram-ready").length) performance.mark("engram-ready");
    })
    .catch(e => container.append(h("p", { class: "msg error" }, String(e.message || e))));
}

function show_token_screen(message) {
  $("token-screen").hidden = false;
  $("view").hidden = true;
  say_token(message);
  $("token-input").focus();
}

function say_token(text) {
  $("token-msg").textContent = text || "";
  $("token-msg").className = text ? "msg error" : "msg";
}

// Opens the console once the API accepts us (with the stored token, or none if the server has
// none); otherwise asks for the token.
async function start() {
  try {
    await refresh_names();
  } catch (e) {
    if (e.status === 401) return show_token_screen(token() ? "The stored token was refused." : "");
    fill($("view"), h("p", { class: "msg error" }, `The server did not answer: ${e.message}`));
    return;
  }
  $("token-screen").hidden = true;
  $("view").hidden = false;
  $("sign-out").hidden = !token();
  call("GET", "/v1/version").then(v => { $("server-info").textContent = `v${v.version}`; }).catch(() => {});
  route();
}

$("token-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  set_token($("token-input").value);
  try {
    await call("GET", "/v1/memories");
  } catch (e) {
    set_token("");
    say_token(e.status === 401 ? "Wrong token: the server refused it." : e.message);
    return;
  }
  $("token-input").value = "";
  start();
});
$("sign-out").addEventListener("click", () => { set_token(""); location.reload(); });
$("memory-picker").addEventListener("change", ev => {
  const view = (location.hash.replace(/^#/, "").split("/")[0]) || "memories";
  ctx.go(view, ev.target.value);
});
window.addEventListener("hashchange", route);
when_unauthenticated(() => { if ($("token-screen").hidden) show_token_screen("The server refused the token."); });
start();
