// Small browser helpers for the console (no framework): preferences in cookies, the browser's time zone, focus.
window.orderFlowConsole = {
  setPreference: function (name, value) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=31536000; samesite=lax";
  },
  timeZone: function () {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  },
  scrollIntoView: function (selector) {
    var element = document.querySelector(selector);
    if (element) { element.scrollIntoView({ block: "nearest" }); }
  }
};

// "/" anywhere but in a text field puts the cursor in the "Go to order" box (as in GitHub or Gmail).
document.addEventListener("keydown", function (e) {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) { return; }
  var target = e.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
  var box = document.querySelector("[data-testid=go-to-order]");
  if (box) { e.preventDefault(); box.focus(); box.select(); }
});

// Enter in the go-to box opens the order it names, read from the box itself: every character typed, even when Enter
// follows the last keystroke at once (a copy of the value kept on the server could still lack it, and opened the wrong id).
document.addEventListener("keydown", function (e) {
  var box = e.target;
  if (e.key !== "Enter" || !box || !box.matches || !box.matches("[data-testid=go-to-order]")) { return; }
  var id = box.value.trim();
  if (!id) { return; }
  e.preventDefault();
  box.value = "";
  var url = "/orders/" + encodeURIComponent(id);
  if (window.Blazor && typeof window.Blazor.navigateTo === "function") { window.Blazor.navigateTo(url); } else { window.location.href = url; }
});

// Arrow keys move the selection in lists marked data-arrow-keys instead of scrolling the page.
document.addEventListener("keydown", function (e) {
  if ((e.key === "ArrowUp" || e.key === "ArrowDown") && e.target && e.target.closest && e.target.closest("[data-arrow-keys]")) {
    e.preventDefault();
  }
});
