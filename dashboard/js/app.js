// The dashboard's entry point (docs/dashboard.md). The screens come in the following modules.
const app = document.getElementById('app');
const p = document.createElement('p');
p.textContent = 'WalletPass dashboard';
app.replaceChildren(p);
