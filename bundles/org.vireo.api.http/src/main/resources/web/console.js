// The web console: VMs and their devices through /api, the serial console through the /api/vms/NAME/console
// WebSocket into an xterm.js terminal. Everything is served by this bundle; nothing comes from elsewhere.
import { Terminal } from './xterm/xterm.mjs';
import { FitAddon } from './xterm/addon-fit.mjs';

const $ = (s) => document.querySelector(s);
let selected = null;
let socket = null;
let terminal = null;
let fit = null;
const decoder = new TextDecoder();
// Everything the console showed, as text, for people and tests (window.vireoConsoleText()).
let consoleText = '';
window.vireoConsoleText = () => consoleText;

function token() { return sessionStorage.getItem('vireo-token'); }

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token()) headers['Authorization'] = 'Bearer ' + token();
  const response = await fetch('/api' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) {
    const t = prompt(data.error + '\n\nToken:');
    if (t) { sessionStorage.setItem('vireo-token', t.trim()); return api(method, path, body); }
  }
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text, isError) {
  const s = $('#status');
  s.textContent = text;
  s.style.color = isError ? '#ff9b9b' : '#ffd479';
}

async function act(promise) {
  try {
    const result = await promise;
    if (result && result.message) say(result.message);
    await refresh();
  } catch (e) {
    say(e.message, true);
  }
}

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

async function refresh() {
  const vms = await api('GET', '/vms');
  const body = $('#vms tbody');
  body.replaceChildren();
  for (const vm of vms) {
    const row = body.insertRow();
    row.className = 'vm' + (vm.name === selected ? ' selected' : '');
    row.dataset.name = vm.name;
    cell(row, vm.name);
    const state = cell(row, '');
    const badge = document.createElement('span');
    badge.className = 'state ' + vm.state;
    badge.textContent = vm.state;
    state.append(badge);
    cell(row, (vm.settings['memory.mib'] ?? 512) + ' MiB');
    cell(row, vm.name === selected ? '◀' : '');
    row.addEventListener('click', () => select(vm.name));
  }
  if (selected) {
    const vm = vms.find((v) => v.name === selected);
    if (!vm) { selected = null; $('#vm-section').hidden = true; closeConsole(); return; }
    $('#vm-state').textContent = vm.state;
    $('#vm-state').className = 'state ' + vm.state;
    $('#start').disabled = vm.state === 'RUNNING';
    $('#stop').disabled = $('#force-stop').disabled = vm.state !== 'RUNNING';
    const devices = await api('GET', '/vms/' + encodeURIComponent(selected) + '/devices');
    const dbody = $('#devices tbody');
    dbody.replaceChildren();
    for (const d of devices) {
      const row = dbody.insertRow();
      cell(row, d.name);
      cell(row, d.type);
      cell(row, d.transport);
      cell(row, d.plugged ? d.address : 'no');
      cell(row, Object.entries(d.settings).map(([k, v]) => k + '=' + v).join(' ') || '-');
      const remove = document.createElement('button');
      remove.textContent = 'Remove';
      remove.addEventListener('click', () => act(api('DELETE', '/vms/' + encodeURIComponent(selected) + '/devices/' + encodeURIComponent(d.name))));
      row.insertCell().append(remove);
    }
  }
}

function select(name) {
  if (selected !== name) {
    selected = name;
    $('#vm-name').textContent = name;
    $('#vm-section').hidden = false;
    openConsole(name);
  }
  refresh().catch((e) => say(e.message, true));
}

function closeConsole() {
  if (socket) { socket.onclose = null; socket.close(); socket = null; }
}

function openConsole(name) {
  closeConsole();
  if (!terminal) {
    terminal = new Terminal({ convertEol: false, scrollback: 5000, fontSize: 13 });
    fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open($('#terminal'));
    fit.fit();
    window.addEventListener('resize', () => fit.fit());
    terminal.onData((keys) => { if (socket && socket.readyState === WebSocket.OPEN) socket.send(keys); });
  }
  terminal.reset();
  consoleText = '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token() ? '?token=' + encodeURIComponent(token()) : '';
  socket = new WebSocket(scheme + '//' + location.host + '/api/vms/' + encodeURIComponent(name) + '/console' + query);
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (event) => {
    const bytes = typeof event.data === 'string' ? new TextEncoder().encode(event.data) : new Uint8Array(event.data);
    terminal.write(bytes);
    consoleText += decoder.decode(bytes, { stream: true });
    if (consoleText.length > 1 << 20) consoleText = consoleText.slice(-(1 << 19));
  };
  socket.onclose = (event) => {
    terminal.write('\r\n\x1b[33m[console closed' + (event.reason ? ': ' + event.reason : '') + ']\x1b[0m\r\n');
    socket = null;
  };
}

function vmPath(suffix) { return '/vms/' + encodeURIComponent(selected) + suffix; }

$('#start').addEventListener('click', () => act(api('POST', vmPath('/start'))));
$('#stop').addEventListener('click', () => { say('Pressing the power button...'); act(api('POST', vmPath('/stop'), { timeout: 30 })); });
$('#force-stop').addEventListener('click', () => act(api('POST', vmPath('/stop'), { force: true })));
$('#delete').addEventListener('click', () => {
  if (confirm('Delete VM ' + selected + '?')) act(api('DELETE', vmPath('')));
});
$('#create-vm').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target;
  const settings = {};
  if (form.memory.value.trim()) settings['memory.mib'] = form.memory.value.trim();
  if (form.hotplug.checked) settings['hotplug.slot'] = true;
  const name = form.name.value.trim();
  act(api('POST', '/vms', { name, settings }).then((r) => { form.reset(); select(name); return r; }));
});
$('#add-device').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target;
  const settings = { 'virtio.transport': form.transport.value };
  for (const pair of form.settings.value.trim().split(/\s+/).filter((s) => s)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) { say('Setting "' + pair + '" is not key=value.', true); return; }
    settings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  act(api('POST', vmPath('/devices'), { type: form.type.value, name: form.name.value.trim(), settings }).then((r) => { form.name.value = ''; return r; }));
});

(async () => {
  try {
    const types = await api('GET', '/device-types');
    $('#add-device select[name=type]').replaceChildren(...types.map((t) => new Option(t, t)));
    await refresh();
    const first = $('#vms tbody tr');
    if (first) select(first.dataset.name);
  } catch (e) {
    say(e.message, true);
  }
  setInterval(() => refresh().catch((e) => say(e.message, true)), 2000);
})();
