// The account page's email part: point an unverified user to /verify-email.
document.addEventListener("latchkey:me", (ev) => {
  const hint = document.getElementById("verify-hint");
  if (hint) hint.hidden = ev.detail.user.email_verified;
});
