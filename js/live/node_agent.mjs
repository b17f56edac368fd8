// The example Node agent (examples/agent/agent.mjs) as the test harness runs it (harness/node_agent_worker.py): its
// worker reports a load of 0 (livekit-server does not dispatch to a worker at or above its target load, which a
// busy 2-core machine reaches at random), and with SHUTDOWN_RPC_BENCH_ECHO=1 the job also answers `bench.echo`
// (bench/bench_e2e.py's warm echo to the same agent).
import { fileURLToPath } from 'node:url';
import { cli, defineAgent } from '@livekit/agents';
import { entry, serverOptions } from '../examples/agent/agent.mjs';

export default defineAgent({
  entry: async (ctx) => {
    await entry(ctx);
    if (process.env.SHUTDOWN_RPC_BENCH_ECHO === '1') ctx.room.localParticipant.registerRpcMethod('bench.echo', (data) => Promise.resolve(data.payload));
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(serverOptions(fileURLToPath(import.meta.url), { loadFunc: () => Promise.resolve(0) }));
}
