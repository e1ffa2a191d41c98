// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // The request form reloads with the chosen dataset's fields as soon as a
  // dataset is picked, instead of waiting for the "Choose" button.
  var pick = document.querySelector("select[data-autosubmit]");
  if (pick && pick.form) {
    pick.addEventListener("change", function () { pick.form.submit(); });
    var btn = pick.form.querySelector("[data-autosubmit-button]");
    if (btn) { btn.classList.add("js-hidden"); }
  }
  // After a preview or a refused form, move the focus (and a screen
  // reader) to the answer: the form error first, else the decision.
  var answer = document.getElementById("form-error") || document.querySelector("#decision[tabindex]");
  if (answer) {
    if (!answer.hasAttribute("tabindex")) { answer.setAttribute("tabindex", "-1"); }
    answer.focus();
  }
});
