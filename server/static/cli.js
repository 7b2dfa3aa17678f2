// The /cli/authorize page: a signed-in person approves a CLI's request,
// the server creates the key, and the browser carries it to the CLI's
// loopback listener.
import { api, showError, signInRedirect } from "/static/app.js";

async function cliAuthorizePage() {
  const req = document.getElementById("cli-request");
  if (!req) return;
  const approve = document.getElementById("cli-approve");
  let me;
  try {
    me = await api("auth.me");
  } catch (err) {
    if (err.status === 401) return signInRedirect();
    return showError(err);
  }
  document.getElementById("cli-who").textContent =
    "Signed in as " + me.user.email + ", for the organization " + me.org.name + ".";
  approve.disabled = false;
  approve.addEventListener("click", async () => {
    approve.disabled = true;
    try {
      const res = await api("auth.cli.authorize", {
        callback_url: req.dataset.callbackUrl,
        state: req.dataset.state,
        scopes: req.dataset.scopes.split(" ").filter(Boolean),
        key_name: req.dataset.keyName,
        create_publishable_key: req.dataset.publishable === "1",
      });
      location.assign(res.redirect_url);
    } catch (err) {
      showError(err);
      approve.disabled = false;
    }
  });
}

cliAuthorizePage();
