// slots.js — reading slots a page at a time. The scroll API (GET .../slots?limit&cursor) is
// used where the server has it; an older server answers 404/405 to it, and then pages are
// built from ids: every id below the memory's next_id, fetched with POST .../get (an erased id
// fails the batch, so that batch is fetched one slot at a time, skipping the erased ones).
import { ApiError, call, mem_path } from "./api.js";

const MAX_BATCHES_PER_PAGE = 20;  // bounds the id scan over a long run of erased slots

// -> {slots: [{id, payload, key, value}], next_cursor: string|null, via: "scroll"|"ids"}
export async function page(memory, { limit = 20, cursor = null, filter = "" } = {}) {
  const q = new URLSearchParams({ limit, with_keys: "true", with_values: "true" });
  if (cursor !== null) q.set("cursor", cursor);
  if (filter) q.set("filter", filter);
  try {
    const r = await call("GET", mem_path(memory, `/slots?${q}`));
    return { slots: r.slots, next_cursor: r.next_cursor ?? null, via: "scroll" };
  } catch (e) {
    // 405: the path exists for POST only; 404 "no route": not at all. A 404 for the memory
    // itself is a real error.
    const no_scroll = e instanceof ApiError && (e.status === 405 || (e.status === 404 && /^no route/.test(e.reason)));
    if (!no_scroll) throw e;
  }
  if (filter) throw new Error("this server has no scroll API (GET .../slots), which filtering slots needs");
  return page_by_ids(memory, limit, cursor === null ? 0 : Number(cursor));
}

async function page_by_ids(memory, limit, start) {
  const { stats } = await call("GET", mem_path(memory));
  const end = stats.next_id;
  const slots = [];
  let id = start;
  for (let batches = 0; id < end && slots.length < limit && batches < MAX_BATCHES_PER_PAGE; ++batches) {
    const ids = [];
    for (let i = id; i < end && ids.length < limit - slots.length; ++i) ids.push(i);
    id = ids[ids.length - 1] + 1;
    slots.push(...await get_existing(memory, ids));
  }
  return { slots, next_cursor: id < end ? String(id) : null, via: "ids" };
}

async function get_existing(memory, ids) {
  try {
    return (await call("POST", mem_path(memory, "/get"), { ids })).slots;
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const one = await Promise.all(ids.map(i => call("GET", mem_path(memory, `/slots/${i}`)).catch(e => {
    if (e.status === 404) return null;
    throw e;
  })));
  return one.filter(Boolean);
}

export async function get_slots(memory, ids) {
  if (!ids.length) return [];
  return (await call("POST", mem_path(memory, "/get"), { ids })).slots;
}
