// Passkeys (SPEC §9): the sign-in page's "Sign in with a passkey" button and
// autofill (conditional UI), and the account page's "Add a passkey". The
// server sends WebAuthn options as JSON; this file turns them into what
// navigator.credentials wants, and the answer back into JSON that a plain
// form post carries (CSRF token included), so the server does the rest.
(function () {
  "use strict";
  var b64 = {
    decode: function (s) {
      s = s.replace(/-/g, "+").replace(/_/g, "/");
      while (s.length % 4) s += "=";
      var bin = atob(s), out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out.buffer;
    },
    encode: function (buf) {
      if (!buf) return null;
      var bytes = new Uint8Array(buf), bin = "";
      for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
  };

  function begin(form) {
    var csrf = form.querySelector("input[name=csrf]").value;
    return fetch(form.getAttribute("data-begin"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: "csrf=" + encodeURIComponent(csrf)
    }).then(function (r) {
      if (!r.ok) throw new Error("passkey options: HTTP " + r.status);
      return r.json();
    });
  }

  function ids(list) {
    return (list || []).map(function (c) { c.id = b64.decode(c.id); return c; });
  }

  function send(form, cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: b64.encode(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = b64.encode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = b64.encode(r.authenticatorData);
      out.response.signature = b64.encode(r.signature);
      out.response.userHandle = b64.encode(r.userHandle);
    }
    form.querySelector("input[name=credential]").value = JSON.stringify(out);
    form.submit();
  }

  function unsupported(form) {
    var note = document.getElementById("passkey-unsupported");
    if (note) note.hidden = false;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  }

  var signIn = document.getElementById("passkey-signin-form");
  if (signIn) {
    if (!window.PublicKeyCredential) {
      unsupported(signIn);
    } else {
      var pending = null;
      var get = function (mediation) {
        if (pending) pending.abort();
        var ctl = new AbortController();
        pending = ctl;
        return begin(signIn).then(function (o) {
          var pk = o.publicKey;
          pk.challenge = b64.decode(pk.challenge);
          pk.allowCredentials = ids(pk.allowCredentials);
          var req = { publicKey: pk, signal: ctl.signal };
          if (mediation) req.mediation = mediation;
          return navigator.credentials.get(req);
        }).then(function (cred) {
          if (cred) send(signIn, cred);
        });
      };
      signIn.addEventListener("submit", function (e) {
        e.preventDefault();
        get(null).catch(function (err) { if (err.name !== "AbortError") console.warn(err); });
      });
      // Autofill: the email field offers passkeys once the browser can.
      if (PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
          if (ok) get("conditional").catch(function (err) { if (err.name !== "AbortError") console.warn(err); });
        });
      }
    }
  }

  var register = document.getElementById("passkey-register-form");
  if (register) {
    if (!window.PublicKeyCredential) {
      unsupported(register);
    } else {
      register.addEventListener("submit", function (e) {
        e.preventDefault();
        begin(register).then(function (o) {
          var pk = o.publicKey;
          pk.challenge = b64.decode(pk.challenge);
          pk.user.id = b64.decode(pk.user.id);
          pk.excludeCredentials = ids(pk.excludeCredentials);
          return navigator.credentials.create({ publicKey: pk });
        }).then(function (cred) {
          if (cred) send(register, cred);
        }).catch(function (err) { console.warn(err); });
      });
    }
  }
})();
