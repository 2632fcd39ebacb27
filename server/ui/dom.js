// dom.js — building the page from data without innerHTML, so that a payload such as
// "<img onerror=...>" is shown as text and never run.

// h("tr", {class: "row", dataset: {id: 3}, onclick: f}, child, "text", [more]) -> an element.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces everything inside `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A number for people: 4 significant digits, no exponent for ordinary magnitudes.
export function num(x, digits = 4) {
  if (x === null || x === undefined) return "—";
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) return x.toExponential(2);
  return String(Number(x.toPrecision(digits)));
}

export function bytes(n) {
  if (n === undefined || n === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// A labelled form field: label text above the control.
export function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

// A message line that views use for errors and results ("" clears it).
export function say(el, text, kind = "info") {
  el.textContent = text;
  el.className = `msg ${text ? kind : ""}`;
}

// Parses a pasted vector: "0.1, 0.2 0.3", "[0.1,0.2]" or one number per line.
export function parse_vector(text) {
  const parts = text.replace(/[[\]]/g, " ").split(/[\s,;]+/).filter(s => s.length);
  const v = parts.map(Number);
  const bad = parts.findIndex((s, i) => !Number.isFinite(v[i]));
  if (bad >= 0) throw new Error(`"${parts[bad]}" is not a number`);
  return v;
}
