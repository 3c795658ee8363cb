// Settings: the user's password, the account's users and invitations to it.
import { h, render, table, when, field, clearErrors, showFieldError, copyable, toast } from '../dom.js';
import { portal, setCsrf } from '../api.js';

export async function show(ctx) {
  const min = (ctx.config && ctx.config.password_min_length) || 10;
  const cur = h('input', { type: 'password', name: 'current-password', autocomplete: 'current-password' });
  const next = h('input', { type: 'password', name: 'new-password', autocomplete: 'new-password', minlength: String(min) });
  const pwBtn = h('button', { type: 'submit', class: 'btn primary' }, 'Change the password');
  const pwForm = h('form', { class: 'card', novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(pwForm);
    pwBtn.disabled = true;
    try {
      const s = await portal.password(cur.value, next.value);
      ctx.session = s;
      setCsrf(s.csrf_token);
      cur.value = next.value = '';
      toast('Password changed. Your other sessions have ended.');
    } catch (err) {
      if (!showFieldError(pwForm, err.param, err.message)) toast(err.message, 'error');
    } finally {
      pwBtn.disabled = false;
    }
  } } }, h('h2', {}, 'Your password'),
  field('Current password', cur, { param: 'current_password' }),
  field('New password', next, { param: 'new_password', hint: `At least ${min} characters. Every other session of yours ends.` }), pwBtn);

  const users = await portal.users();
  const inviteEmail = h('input', { type: 'email', name: 'invite-email' });
  const inviteBox = h('div', { 'aria-live': 'polite' });
  const invBtn = h('button', { type: 'submit', class: 'btn' }, 'Create an invitation link');
  const invForm = h('form', { novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(invForm);
    invBtn.disabled = true;
    try {
      const inv = await portal.invite(inviteEmail.value.trim());
      render(inviteBox, h('p', { class: 'notice warn' }, `Send this link to ${inv.email || 'your colleague'}; it works once, for ${inv.expires_in_hours} hours, and is shown only now.`), copyable(inv.url, 'Invitation link'));
    } catch (err) {
      if (!showFieldError(invForm, err.param, err.message)) toast(err.message, 'error');
    } finally {
      invBtn.disabled = false;
    }
  } } }, field('Their email (optional)', inviteEmail, { param: 'email', hint: 'When given, only this address can use the link.' }), invBtn);

  render(ctx.main, h('h1', {}, 'Settings'),
    h('section', { class: 'card', 'aria-labelledby': 'me-h' }, h('h2', { id: 'me-h' }, 'Signed in'),
      h('dl', { class: 'props' }, h('dt', {}, 'Email'), h('dd', {}, ctx.session.user.email), h('dt', {}, 'Account'), h('dd', {}, ctx.session.account.name || ctx.session.account.id),
        h('dt', {}, 'Account id'), h('dd', { class: 'mono' }, ctx.session.account.id), h('dt', {}, 'Session ends'), h('dd', {}, when(ctx.session.expires_at)))),
    pwForm,
    h('section', { 'aria-labelledby': 'users-h' }, h('h2', { id: 'users-h' }, 'Users of the account'),
      table([{ label: 'Email', cell: (u) => u.email }, { label: 'Since', cell: (u) => when(u.created_at) }, { label: 'Last sign-in', cell: (u) => when(u.last_login_at) }],
        users.data, { caption: 'Users' }),
      h('div', { class: 'card' }, h('h3', {}, 'Invite a colleague'), invForm, inviteBox)));
}
