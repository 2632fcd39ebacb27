// view_generate.js — the model the server runs (engram serve --model DIR, DIR holding a trained
// model) continues a prompt while reading the chosen memory; per generated token, the memory
// slots its prediction read: ids, weights as bars, payloads (POST /v1/model/generate).
import { call, mem_path } from "./api.js";
import { h, fill, field, say, num } from "./dom.js";
import { bar } from "./svg.js";

const SHOWN_READS = 5;  // per token; the rest behind "more"

// The loaded model (GET /v1/model), or null when the server runs none.
export async function loaded_model() {
  try {
    return await call("GET", "/v1/model");
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

export async function render(root, ctx) {
  root.append(h("h2", {}, "Generate"));
  const model = await loaded_model();
  if (!model) {
    root.append(h("p", { class: "msg", id: "gen-no-model" },
      "This server runs no model: start it with `engram serve --model DIR`, DIR a folder " +
      "`engram-lm train --out DIR` wrote (it holds config.json and model.pt), to generate text here " +
      "and see the memory slots each token read."));
    return;
  }
  const memory = ctx.memory;
  const config = memory ? (await call("GET", mem_path(memory))).config : null;
  const fits = config && config.key_dim === model.memory_dim && config.value_dim === model.memory_dim;

  const prompt = h("textarea", { id: "gen-prompt", rows: 3, cols: 60, placeholder: "text to continue" });
  const max_new = h("input", { id: "gen-max", type: "number", min: 1, max: 512, value: 16 });
  const temperature = h("input", { id: "gen-temperature", type: "number", step: "any", min: 0, value: 0 });
  const seed = h("input", { id: "gen-seed", type: "number", min: 0, value: 0 });
  const use_memory = h("input", { id: "gen-use-memory", type: "checkbox", checked: fits, disabled: !fits });
  const memory_note = !memory ? "no memory: create one first"
    : fits ? `read ${memory} at every step`
    : `${memory} is ${config.key_dim}×${config.value_dim}; the model reads ${model.memory_dim}×${model.memory_dim} memories`;
  const msg = h("p", { class: "msg" });
  const out = h("div", { id: "gen-output" });

  const form = h("form", { id: "gen-form" },
    h("div", { class: "row" }, field("prompt", prompt)),
    h("div", { class: "row" }, field("new tokens (at most)", max_new), field("temperature (0: greedy)", temperature),
      field("seed", seed), h("label", { class: "field" }, h("span", {}, "memory"),
        h("span", {}, use_memory, " ", memory_note)),
      h("button", { type: "submit", id: "gen-run" }, "Generate")));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    say(msg, "Generating…");
    try {
      const body = { prompt: prompt.value, max_new_tokens: +max_new.value, temperature: +temperature.value, seed: +seed.value };
      if (use_memory.checked) body.memory = memory;
      const t0 = performance.now();
      const r = await call("POST", "/v1/model/generate", body);
      fill(out, show(body.prompt, r));
      say(msg, `${r.tokens.length} tokens in ${((performance.now() - t0) / 1000).toFixed(2)} s` +
               (r.memory ? `, reading ${r.memory}.` : ", reading no memory."), "ok");
    } catch (e) { say(msg, e.message, "error"); }
  });
  root.append(h("p", { class: "muted" },
    `Model ${model.dir}: ${model.layers} layers, width ${model.width}, ${model.block_size} positions, ` +
    (model.memory_dim ? `reads ${model.memory_k} slots of ${model.memory_dim} numbers (${model.read_out} read-out).` : "no memory layer.")),
    form, msg, out);

  function show(prompt_text, r) {
    const completion = h("p", { id: "gen-completion", class: "completion" },
      h("span", { class: "prompt" }, prompt_text), h("strong", { class: "continuation" }, r.text));
    const rows = r.tokens.map((t, i) => h("tr", { dataset: { step: i, token: t.token } },
      h("td", { class: "n" }, i + 1),
      h("td", { class: "token" }, h("code", {}, JSON.stringify(t.text))),
      h("td", { class: "reads" }, t.reads.length ? reads_table(t.reads) : h("span", { class: "muted" }, "nothing read"))));
    const table = h("table", { class: "grid", id: "gen-tokens" },
      h("thead", {}, h("tr", {}, ["#", "token", "memory slots read (id, weight, payload)"].map(c => h("th", {}, c)))),
      h("tbody", {}, rows));
    return [completion, table];
  }

  function reads_table(reads) {
    const row = r => h("tr", { class: "read", dataset: { id: r.id, weight: r.weight } },
      h("td", { class: "n" }, h("a", { href: `#slots/${encodeURIComponent(memory)}`,
        onclick: ev => { ev.preventDefault(); ctx.go("slots", memory, { open: r.id }); } }, r.id)),
      h("td", { class: "weight" }, bar(r.weight, { max: 1, width: 100 }), h("span", { class: "w" }, num(r.weight))),
      h("td", { class: "payload" }, r.payload));
    const first = h("table", { class: "reads" }, h("tbody", {}, reads.slice(0, SHOWN_READS).map(row)));
    if (reads.length <= SHOWN_READS) return first;
    return [first, h("details", {}, h("summary", {}, `${reads.length - SHOWN_READS} more`),
      h("table", { class: "reads" }, h("tbody", {}, reads.slice(SHOWN_READS).map(row))))];
  }
}
