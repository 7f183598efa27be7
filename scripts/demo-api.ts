/** Starts an emulator, exercises it with the client, prints what happened. */
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { isKubeSphereError } from '../src/kubesphere/errors.js';
import { createEmulator } from '../src/emulator/server.js';

const emulator = await createEmulator({
  delays: { userActivationMs: 100, workspaceRolesMs: 100, projectRolesMs: 100 },
});
const ks = new KubeSphereClient({ baseUrl: emulator.url, credentials: { username: 'admin', password: 'P@88w0rd' } });
const step = (label: string, value: unknown) =>
  console.log(`${label.padEnd(34)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
try {
  step('emulator', emulator.url);
  const user = await ks.createUser({
    name: 'alice',
    email: 'alice@example.com',
    password: 'Passw0rd1',
    globalRole: 'platform-regular',
  });
  step('create user alice', user.metadata.annotations);
  try {
    await ks.createUser({ name: 'alice', email: 'alice@example.com' });
  } catch (error) {
    if (!isKubeSphereError(error)) throw error;
    step('create alice again', `${error.code}: ${error.serverMessage}`);
  }
  await ks.createWorkspace({ name: 'team-a', manager: 'admin', clusters: ['host'] });
  await ks.createProject({ workspace: 'team-a', name: 'team-a-dev', creator: 'admin' });
  await new Promise((resolve) => setTimeout(resolve, 150));
  await ks.addWorkspaceMembers('team-a', [{ username: 'alice', roleRef: 'team-a-regular' }]);
  await ks.addProjectMembers({ namespace: 'team-a-dev' }, [{ username: 'alice', roleRef: 'viewer' }]);
  step('alice in team-a', await ks.workspaceRolesOf('team-a', 'alice'));
  step('alice in team-a-dev', await ks.projectRolesOf({ namespace: 'team-a-dev' }, 'alice'));
  step('requests by method', emulator.requests.byMethod);
} finally {
  await ks.close();
  await emulator.close();
}
