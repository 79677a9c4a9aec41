// Sound and notifications when a call rings (ES module): a short beep and a browser
// notification, each switched by a checkbox [data-setting] remembered in localStorage.
import { displayName } from "./card.js";
import { isObject } from "./format.js";

function setting(name) {
  try { return window.localStorage.getItem("desk." + name) !== "off"; } catch (e) { return true; }
}

/** Wire the checkboxes; returns ring(card), for a call that starts ringing. */
export function startAlerts(desk) {
  const T = desk.T;
  let audio = null;

  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) { audio = null; }
  }

  function beep() {
    if (!setting("sound") || !audio) { return; }
    try {
      const t = audio.currentTime;
      [0, 0.25].forEach((offset) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, t + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.18);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t + offset);
        osc.stop(t + offset + 0.2);
      });
    } catch (e) { /* no sound is better than a broken desk */ }
  }

  function notify(card) {
    if (!setting("notify") || !("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    const caller = isObject(card.data.caller) ? card.data.caller : {};
    try {
      const note = new Notification(T.incomingCall, {
        body: displayName(T, card.data) + (caller.number ? " · " + caller.number : ""),
        tag: "call-" + card.id
      });
      note.onclick = () => { window.focus(); note.close(); };
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  function notifyHint() {
    const hint = document.querySelector("[data-notify-hint]");
    if (!hint) { return; }
    const blocked = setting("notify") && "Notification" in window && Notification.permission === "denied";
    hint.textContent = blocked ? T.notifyBlocked : "";
    hint.hidden = !blocked;
  }

  function askNotificationPermission() {
    if (setting("notify") && "Notification" in window && Notification.permission === "default") {
      try {
        const asked = Notification.requestPermission(notifyHint);
        if (asked && asked.then) { asked.then(notifyHint); }
      } catch (e) { /* old browsers */ }
    }
  }

  document.querySelectorAll("[data-setting]").forEach((box) => {
    const name = box.getAttribute("data-setting");
    box.checked = setting(name);
    box.addEventListener("change", () => {
      try { window.localStorage.setItem("desk." + name, box.checked ? "on" : "off"); } catch (e) { /* private mode */ }
      if (name === "notify") { askNotificationPermission(); notifyHint(); }
      if (name === "sound" && box.checked) { unlockAudio(); beep(); }
    });
  });
  notifyHint();

  // Browsers start sound (and may ask for notifications) only after the user did something.
  function firstGesture() {
    unlockAudio();
    askNotificationPermission();
    document.removeEventListener("pointerdown", firstGesture);
    document.removeEventListener("keydown", firstGesture);
  }
  document.addEventListener("pointerdown", firstGesture);
  document.addEventListener("keydown", firstGesture);

  return function ring(card) {
    beep();
    notify(card);
    desk.announce(T.incomingCall + ": " + displayName(T, card.data));
  };
}
