// The desk's live link (ES module): over the connection of ../live.js, the snapshot of
// this agent's calls on every (re)connect, then call events in seq order. Every applied
// seq is acknowledged (call.ack); a gap in the seqs asks for a new snapshot (calls.sync).
// The agent's own state (agent.state: after every change, and on every connect) goes to
// the status badge.
import { connect } from "../live.js";
import { CALL_EVENTS } from "./card.js";
import { isObject, list } from "./format.js";
import { showOwnState } from "./status.js";

/** extraHandlers: more events of the user's room (ticket.notice), name -> fn(data). */
export function startLiveLink(desk, pops, extraHandlers) {
  let lastSeq = 0;  // the highest seq applied (from the snapshot, then from events)
  let seqRun = null;  // the run those seqs belong to (a Redis that restarted empty: a new one)
  let live = null;

  function ack(seq) {
    if (typeof seq === "number" && live) { live.emit("call.ack", { seq }); }
  }

  function onSnapshot(snapshot) {
    if (!isObject(snapshot)) { return; }
    const calls = list(snapshot.calls).slice().sort((a, b) => (a.seq || 0) - (b.seq || 0));
    const keep = new Set();
    calls.forEach((data) => {
      if (data.call_id === undefined || data.call_id === null) { return; }
      const event = CALL_EVENTS.includes(data.event) ? data.event : "call.ringing";
      keep.add(String(data.call_id));
      pops.upsert(event, data, typeof data.seq === "number" ? data.seq : 0);
    });
    pops.ids().forEach((id) => { if (!keep.has(id)) { pops.remove(id); } });
    pops.reorder();
    lastSeq = typeof snapshot.seq === "number" ? snapshot.seq : 0;
    seqRun = typeof snapshot.seq_run === "string" ? snapshot.seq_run : null;
    ack(lastSeq);
  }

  function onEvent(event) {
    return (data) => {
      if (!isObject(data) || data.call_id === undefined || data.call_id === null) { return; }
      const seq = typeof data.seq === "number" ? data.seq : null;
      if (typeof data.seq_run === "string" && data.seq_run !== seqRun) {
        // The counters began again (Redis lost its data): the seqs seen mean nothing
        // now; apply this event and let a fresh snapshot settle the rest.
        seqRun = data.seq_run;
        lastSeq = 0;
        if (live) { live.emit("calls.sync"); }
      }
      if (seq !== null && seq <= lastSeq) { ack(seq); return; }  // already in the snapshot
      if (seq !== null && lastSeq && seq > lastSeq + 1 && live) {
        live.emit("calls.sync");  // a gap: something was lost; the snapshot repairs it
      }
      if (seq !== null) { lastSeq = seq; }
      if (event === "call.dismissed") {
        pops.remove(String(data.call_id));
      } else {
        pops.upsert(event, data, seq !== null ? seq : lastSeq);
      }
      ack(seq);
    };
  }

  const handlers = { "calls.snapshot": onSnapshot,
    "agent.state": (row) => showOwnState(desk, row) };
  CALL_EVENTS.concat(["call.dismissed"]).forEach((name) => { handlers[name] = onEvent(name); });
  Object.assign(handlers, extraHandlers || {});

  live = connect({
    indicator: document.querySelector("[data-live-indicator]"),
    banner: document.querySelector("[data-conn-banner]"),
    strings: desk.T,
    loginUrl: "/login?next=" + encodeURIComponent(window.location.pathname),
    on: handlers
  });
  return live;
}
