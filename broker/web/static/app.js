// Progressive enhancement only: every page works without this file.
// The request form reloads with the chosen dataset's fields as soon as a
// dataset is picked, instead of waiting for the "Choose" button.
document.addEventListener("DOMContentLoaded", function () {
  var pick = document.querySelector("select[data-autosubmit]");
  if (pick && pick.form) {
    pick.addEventListener("change", function () { pick.form.submit(); });
    var btn = pick.form.querySelector("[data-autosubmit-button]");
    if (btn) { btn.classList.add("js-hidden"); }
  }
});
