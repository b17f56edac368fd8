// A frontend as an application would write it: join the room with livekit-client, relay the payload the
// backend minted (unchanged), and show the agent's answer. The test driver calls window.startRelay(...) and
// reads #result once data-state is "done".
import { Room } from 'livekit-client';
import { describeResult, relayShutdown } from 'livekit-shutdown-rpc';

const $ = (id) => document.getElementById(id);
const setStatus = (s) => ($('status').textContent = s);

async function waitForAgent(room, identity, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = room.remoteParticipants.get(identity);
    if (p && p.attributes['shutdown_rpc.method']) return;
    if (Date.now() > deadline) throw new Error(`agent ${identity} not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function show(out) {
  $('summary').textContent = out.summary ?? out.error ?? '';
  $('result').textContent = JSON.stringify(out);
  $('result').dataset.state = 'done';
}

window.startRelay = async ({ url, token, payload, destination }) => {
  const room = new Room({ adaptiveStream: false, dynacast: false });
  try {
    setStatus('connecting');
    await room.connect(url, token, { autoSubscribe: false });
    setStatus('waiting for the agent');
    await waitForAgent(room, destination, 30000);
    setStatus('relaying');
    const result = await relayShutdown(room.localParticipant, payload, { destinationIdentity: destination });
    const printable = result.kind === 'transport_error' ? { ...result, error: String(result.error) } : result;
    setStatus('done');
    show({ summary: describeResult(result), result: printable });
  } catch (e) {
    setStatus('failed');
    show({ error: String(e && e.stack ? e.stack : e) });
  } finally {
    await room.disconnect();
  }
};
setStatus('ready');
