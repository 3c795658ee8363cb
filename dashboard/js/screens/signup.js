// Sign up (POST /portal/api/signup): a new account on the trial, or joining one with an invitation.
import { h, render, field, clearErrors, showFieldError } from '../dom.js';
import { portal } from '../api.js';

export async function show(ctx) {
  const cfg = ctx.config || {};
  const invite = ctx.query.get('invite') || '';
  if (!invite && cfg.signup !== 'open') {
    render(ctx.main, h('h1', {}, 'Sign up'),
      h('p', { class: 'notice' }, cfg.signup === 'invite'
        ? 'Sign-up on this gateway needs an invitation: open the link you were sent.'
        : 'Sign-up is off on this gateway: its operator creates the users.'),
      h('p', {}, h('a', { href: '#/login' }, 'Back to sign in')));
    return;
  }
  const min = cfg.password_min_length || 10;
  const name = h('input', { type: 'text', name: 'organization', autocomplete: 'organization', maxlength: '200' });
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'new-password', autocomplete: 'new-password', required: true, minlength: String(min) });
  const status = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, invite ? 'Join' : 'Create the account');
  const form = h('form', { class: 'card', novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(form);
    render(status);
    submit.disabled = true;
    try {
      const body = { email: email.value.trim(), password: password.value };
      if (name.value.trim()) body.name = name.value.trim();
      if (invite) body.invite = invite;
      const s = await portal.signup(body);
      await ctx.signedIn(s);
    } catch (err) {
      if (!showFieldError(form, err.param, err.message)) render(status, h('p', { class: 'notice error' }, err.message));
    } finally {
      submit.disabled = false;
    }
  } } },
  status,
  invite ? h('p', { class: 'notice' }, 'You were invited: choose your password to join.') : field('Company or project name', name, { param: 'name', hint: 'Shown on your passes as the organisation until you change it.' }),
  field('Email', email, { param: 'email' }),
  field('Password', password, { param: 'password', hint: `At least ${min} characters.` }),
  submit);
  render(ctx.main, h('h1', {}, invite ? 'Join an account' : 'Create an account'),
    invite ? null : h('p', { class: 'muted' }, 'A new account starts with a free trial of every feature.'),
    form,
    h('p', {}, 'Have an account? ', h('a', { href: '#/login' }, 'Sign in')));
}
