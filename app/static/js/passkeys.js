// Passkeys: a button with data-passkey-action ("register", "sign-in" or "second-factor") asks the
// server for options, lets the browser's WebAuthn API (through @simplewebauthn/browser) talk to
// the authenticator, and sends the answer back; the server answers with where to go next.
// Messages come translated from the page (data-msg-* on the button).
(() => {
  "use strict";
  const lib = window.SimpleWebAuthnBrowser;
  const buttons = document.querySelectorAll("[data-passkey-action]");
  if (!buttons.length) return;
  const supported = lib && lib.browserSupportsWebAuthn();

  function show(button, text) {
    const box = document.getElementById(button.dataset.errorBox);
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
    if (text) box.focus();
  }

  async function post(url, button, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": button.dataset.csrf },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      const message = data && data.error && data.error.message;
      throw new Error(message || button.dataset.msgFailed);
    }
    return data;
  }

  async function run(button) {
    const action = button.dataset.passkeyAction;
    const optionsJSON = await post(button.dataset.optionsUrl, button);
    let credential;
    try {
      credential = action === "register"
        ? await lib.startRegistration({ optionsJSON })
        : await lib.startAuthentication({ optionsJSON });
    } catch (error) {
      // NotAllowedError: the person cancelled or the time ran out; nothing was sent.
      const cancelled = error && (error.name === "NotAllowedError" || error.code === "ERROR_CEREMONY_ABORTED");
      throw new Error(cancelled ? button.dataset.msgCancelled : button.dataset.msgFailed);
    }
    const body = { credential };
    if (action === "register") {
      const input = document.getElementById(button.dataset.nameInput);
      body.name = input ? input.value : "";
    }
    const remember = document.getElementById(button.dataset.rememberInput || "");
    if (remember) body.remember = remember.checked;
    const result = await post(button.dataset.verifyUrl, button, body);
    window.location.assign(result.redirect);
  }

  for (const button of buttons) {
    if (!supported) {
      button.disabled = true;
      show(button, button.dataset.msgUnsupported);
      continue;
    }
    button.addEventListener("click", async () => {
      show(button, "");
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      try {
        await run(button);
      } catch (error) {
        show(button, error.message || button.dataset.msgFailed);
        button.disabled = false;
      } finally {
        button.removeAttribute("aria-busy");
      }
    });
  }
})();
