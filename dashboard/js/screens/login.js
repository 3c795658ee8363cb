// Sign in (POST /portal/api/login).
import { h, render, field, clearErrors, showFieldError } from '../dom.js';
import { portal, ApiError } from '../api.js';

export async function show(ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const status = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', { class: 'card', novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(form);
    render(status);
    if (!email.value) return showFieldError(form, 'email', 'Enter your email address.');
    if (!password.value) return showFieldError(form, 'password', 'Enter your password.');
    submit.disabled = true;
    try {
      const s = await portal.login(email.value.trim(), password.value);
      await ctx.signedIn(s);
    } catch (err) {
      password.value = '';
      const msg = err instanceof ApiError && err.code === 'login_failed' ? 'The email or the password is wrong.'
        : err.code === 'login_locked' ? `Too many failed sign-ins. ${err.message}.` : err.message;
      if (!showFieldError(form, err.param, msg)) render(status, h('p', { class: 'notice error' }, msg));
      password.focus();
    } finally {
      submit.disabled = false;
    }
  } } },
  status,
  field('Email', email, { param: 'email' }),
  field('Password', password, { param: 'password' }),
  submit);
  const cfg = ctx.config || {};
  render(ctx.main,
    h('h1', {}, 'Sign in to WalletPass'),
    form,
    cfg.signup === 'open' ? h('p', {}, 'No account yet? ', h('a', { href: '#/signup' }, 'Sign up')) : null,
    cfg.signup === 'invite' ? h('p', { class: 'muted' }, 'New accounts need an invitation from the operator of this gateway.') : null);
}
