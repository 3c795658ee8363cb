// Templates: the account's templates, opened in the designer (GET/DELETE /api/v1/templates).
import { h, render, table, when, toast } from '../dom.js';
import { api, all } from '../api.js';

export async function show(ctx) {
  const box = h('div');
  async function load() {
    const list = await all('/templates');
    render(box, table([
      { label: 'Name', cell: (t) => h('a', { href: `#/designer/template/${t.id}` }, t.name) },
      { label: 'Type', cell: (t) => (t.body && t.body.pass_type) || '—' },
      { label: 'Version', cell: (t) => String(t.version), num: true },
      { label: 'Updated', cell: (t) => when(t.updated_at) },
      { label: 'Actions', cell: (t) => h('div', { class: 'toolbar' },
        h('a', { class: 'btn small', href: `#/designer/template/${t.id}` }, 'Open'),
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Delete the template ${t.name}`, on: { click: async () => {
          if (!confirm(`Delete the template "${t.name}"? Its passes keep working.`)) return;
          await api.del(`/templates/${t.id}`);
          toast('Template deleted.');
          load();
        } } }, 'Delete')) },
    ], list, { caption: 'Templates', empty: 'No templates yet: save one from the designer.' }));
  }
  render(ctx.main, h('div', { class: 'toolbar' }, h('h1', {}, 'Templates'), h('span', { class: 'spacer' }), h('a', { class: 'btn primary', href: '#/designer' }, 'New design')), box);
  await load();
}
