// Portico progressive enhancement: "Copy" buttons next to read-only credential fields and
// confirmation prompts on dangerous buttons. Every page works without this file.
(function () {
  'use strict';
  document.querySelectorAll('input[data-copy]').forEach(function (input) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'button small copy-button';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + (input.getAttribute('aria-label') || 'value'));
    button.addEventListener('click', function () {
      var done = function () {
        button.textContent = 'Copied';
        setTimeout(function () { button.textContent = 'Copy'; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        try { document.execCommand('copy'); done(); } catch (e) { /* the field stays selected */ }
      }
    });
    input.insertAdjacentElement('afterend', button);
  });
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) { event.preventDefault(); }
    });
  });
})();
