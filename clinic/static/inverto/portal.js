/* Inverto portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function formatClock(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    var m = Math.floor(s / 60);
    var r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }

  function spoken(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    var parts = [];
    if (m) parts.push(m + (m === 1 ? " minute" : " minutes"));
    if (s || !m) parts.push(s + (s === 1 ? " second" : " seconds"));
    return parts.join(" ");
  }

  /* The hold timer: start, pause, reset; announces start, halfway and the end. */
  function setUpTimer(box) {
    var total = parseInt(box.getAttribute("data-seconds"), 10);
    if (!total || total < 1) return;
    var display = box.querySelector("[data-timer-display]");
    var status = box.querySelector("[data-timer-status]");
    var controls = box.querySelector("[data-timer-controls]");
    var start = box.querySelector("[data-timer-start]");
    var pause = box.querySelector("[data-timer-pause]");
    var reset = box.querySelector("[data-timer-reset]");
    var remaining = total;
    var endsAt = null;
    var tick = null;
    var halfwaySaid = false;
    var wakeLock = null;

    function say(text) {
      status.textContent = text;
    }

    function keepAwake(on) {
      try {
        if (on && navigator.wakeLock && !wakeLock) {
          navigator.wakeLock.request("screen").then(function (lock) { wakeLock = lock; }, function () {});
        } else if (!on && wakeLock) {
          wakeLock.release();
          wakeLock = null;
        }
      } catch (e) { /* not supported: the timer still works */ }
    }

    function render() {
      display.textContent = formatClock(remaining);
    }

    function stopTicking() {
      if (tick) window.clearInterval(tick);
      tick = null;
      endsAt = null;
    }

    function update() {
      remaining = Math.max(0, (endsAt - Date.now()) / 1000);
      render();
      if (!halfwaySaid && total >= 20 && remaining <= total / 2 && remaining > 0) {
        halfwaySaid = true;
        say("Halfway. " + spoken(Math.ceil(remaining)) + " to go.");
      }
      if (remaining <= 0) {
        stopTicking();
        keepAwake(false);
        box.classList.add("finished");
        say("Time is up. Come up slowly now, over about 30 seconds.");
        if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
        start.disabled = true;
        pause.disabled = true;
        reset.focus();
      }
    }

    start.addEventListener("click", function () {
      if (tick || remaining <= 0) return;
      endsAt = Date.now() + remaining * 1000;
      tick = window.setInterval(update, 250);
      start.disabled = true;
      pause.disabled = false;
      box.classList.add("running");
      keepAwake(true);
      say(remaining === total ? "Started. Hold for " + spoken(total) + "." : "Going again.");
      pause.focus();
    });

    pause.addEventListener("click", function () {
      if (!tick) return;
      update();
      stopTicking();
      start.disabled = false;
      start.textContent = "Continue";
      pause.disabled = true;
      box.classList.remove("running");
      keepAwake(false);
      say("Paused with " + spoken(Math.ceil(remaining)) + " to go.");
      start.focus();
    });

    reset.addEventListener("click", function () {
      stopTicking();
      remaining = total;
      halfwaySaid = false;
      render();
      start.disabled = false;
      start.textContent = "Start";
      pause.disabled = true;
      box.classList.remove("running", "finished");
      keepAwake(false);
      say("Timer reset to " + spoken(total) + ".");
    });

    controls.hidden = false;
    render();
  }

  /* Health update: show an event's date field only once its box is ticked. */
  function setUpEventPair(pair) {
    var box = pair.querySelector("input[type=checkbox]");
    var dateField = pair.querySelector(".field:not(.field-check)");
    if (!box || !dateField) return;
    var dateInput = dateField.querySelector("input");
    function sync() {
      var keep = box.checked || (dateInput && dateInput.value) || dateField.querySelector(".errorlist");
      dateField.hidden = !keep;
    }
    box.addEventListener("change", sync);
    sync();
  }

  function focusFirst(root) {
    var target = root.querySelector("[data-focus]");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
      target.scrollIntoView({ block: "start" });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-timer]"), setUpTimer);
    Array.prototype.forEach.call(document.querySelectorAll("[data-event]"), setUpEventPair);
    /* After a full-page post with errors or a result, take the user to it. */
    if (document.querySelector("main [data-focus]")) focusFirst(document.querySelector("main"));
  });

  /* A check-in that could not be sent says so next to the Send button; what was typed
     stays, and sending again is safe (the form keeps its idempotency key). */
  var SEND_FAILED = {
    "htmx:sendError": "Your check-in could not be sent: check your internet connection, then press Send again. Your answers are still here.",
    "htmx:responseError": "Something went wrong on our side and your check-in may not be saved. Please press Send again in a minute; it will not be counted twice."
  };

  function sendErrorBox(form, create) {
    var box = form.querySelector("[data-send-error]");
    if (!box && create) {
      box = document.createElement("p");
      box.className = "send-error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-send-error", "");
      var submit = form.querySelector("button[type=submit]");
      form.insertBefore(box, submit);
    }
    return box;
  }

  Object.keys(SEND_FAILED).forEach(function (name) {
    document.addEventListener(name, function (event) {
      var elt = event.detail && event.detail.elt;
      var form = elt && elt.closest ? elt.closest("form") : null;
      if (form) sendErrorBox(form, true).textContent = SEND_FAILED[name];
    });
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && elt.closest ? elt.closest("form") : null;
    var box = form && sendErrorBox(form, false);
    if (box) box.remove();
  });

  /* After htmx swaps the check-in panel, move focus to its message and heading. */
  document.addEventListener("htmx:afterSettle", function (event) {
    var panel = document.getElementById("checkin-panel");
    if (!panel) return;
    if (panel.querySelector("[data-focus]")) {
      focusFirst(panel);
    } else {
      var heading = panel.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
    var title = panel.querySelector("h1");
    if (title) document.title = title.textContent.trim() + " · Inverto";
  });
})();
