/**
 * The drill console's Services-machine commands on the live stack (live-commands.ts) against a fake machine: the
 * customization files are real files in a directory of the test's own, the app's stop and start change the rows, the
 * Auto Scaling calls go to the twin's EC2 endpoint in this process through the AWS SDK. The real stack:
 * live-console.live.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultOrder } from '../../sim/faults/port.ts';
import { Ec2Api, type StartedEc2Api } from '../ec2/server.ts';
import { drillFile, loadDrill } from './drills.ts';
import { LiveTrainingSession, type LiveInstallation, type LiveRowView } from './live-session.ts';
import type { LiveMachine } from './live-commands.ts';

const APP = '2a7f3c1d9e8b4f60a1c2d3e4f5a6b7c8';
const GROUP = 'nomad-clients';
const dirs: string[] = [];
let ec2: StartedEc2Api;

beforeAll(async () => {
  ec2 = await new Ec2Api().withPort(0).withSeed(7).start();
  const base = [...ec2.state.ec2.images.values()].find((i) => i.isPublic)!;
  ec2.state.autoscaling.createLaunchConfiguration({ name: 'lc', imageId: base.imageId, instanceType: 'm5.2xlarge' });
  ec2.state.autoscaling.createAutoScalingGroup({ name: GROUP, minSize: 4, maxSize: 8, desiredCapacity: 4, launchConfigurationName: 'lc', availabilityZones: [ec2.state.ec2.subnet.availabilityZone], tags: [] });
});
afterAll(async () => {
  await ec2.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A Services machine in memory: its `/etc` a directory of the test's, its app's stop and start the rows'. */
class FakeMachine implements LiveMachine {
  readonly etcDir = mkdtempSync(join(tmpdir(), 'twin-live-etc-'));
  readonly dataDir = mkdtempSync(join(tmpdir(), 'twin-live-data-'));
  readonly started: ReadonlyMap<string, Readonly<Record<string, string>>>[] = [];
  private env = new Map<string, Readonly<Record<string, string>>>();
  constructor(private readonly inst: FakeInstallation) {
    dirs.push(this.etcDir, this.dataDir);
    writeFileSync(join(this.dataDir, 'base'), Buffer.alloc(64 * 1024));
  }
  get autoscaling() {
    return { url: ec2.autoscalingUrl, region: ec2.state.options.region };
  }
  async stopApp(): Promise<void> {
    for (const [name, row] of this.inst.rowMap) this.inst.rowMap.set(name, { ...row, state: 'exited' });
  }
  async startApp(env: ReadonlyMap<string, Readonly<Record<string, string>>>): Promise<void> {
    (this.started as unknown[]).push(env);
    this.env = new Map(env);
    for (const [name, row] of this.inst.rowMap) this.inst.rowMap.set(name, { ...row, state: 'healthy' });
  }
  environment(dir: string): Readonly<Record<string, string>> {
    return this.env.get(dir) ?? {};
  }
  dataDirs() {
    return [{ name: 'postgres', dir: this.dataDir }, { name: 'etc', dir: this.etcDir }];
  }
  /** /opt/nomad: its entries until wiped; each wipe with whether the server ran. */
  nomadEntries: string[] | undefined = ['server'];
  readonly wipes: boolean[] = [];
  nomadData() {
    return this.nomadEntries;
  }
  wipeNomadState(serverRunning: boolean): string {
    this.wipes.push(serverRunning);
    if (!serverRunning) this.nomadEntries = [];
    return '';
  }
}

/** A live installation in memory with a Services machine. */
class FakeInstallation implements LiveInstallation {
  readonly storage = 's3' as const;
  readonly rowMap = new Map<string, LiveRowView>();
  readonly machine: FakeMachine;
  constructor(readonly profile: LiveInstallation['profile']) {
    for (const c of profile.containers) this.rowMap.set(c.name, { state: 'healthy', ports: [] });
    this.machine = new FakeMachine(this);
  }
  nowMs = () => 3_600_000;
  rows = () => this.rowMap;
  act = async (o: FaultOrder) => `${o.action} ${o.target}`;
  refreshHealth = async () => {};
  nomadScheduler = () => undefined;
  nomadUp = async () => false;
  nomadDrain = async () => undefined;
  queues = async () => ({ queuedBuilds: 0, runQueue: 0, schedulerQueue: 0, nomadPending: 0 });
  queuedBuilds = async () => [];
  buildsSince = async () => ({ total: 0, succeeded: undefined, fates: {} });
}

function setUp(drillName = 'queued-at-picard-dispatcher') {
  const { drill, profile } = loadDrill(drillFile(drillName));
  const inst = new FakeInstallation(profile);
  const s = new LiveTrainingSession(drill, inst, { seed: 7, commandMs: 30_000, timeScale: 60 });
  return { s, inst, etc: inst.machine.etcDir };
}

describe('the Services machine\'s commands on the live stack', () => {
  it('keeps /etc/circleconfig as real files in the installation\'s etc directory: written as root only, read back from disk', async () => {
    const { s, etc } = setUp();
    expect((await s.execute('mkdir -p /etc/circleconfig/frontend')).output).toMatch(/Permission denied/);
    expect((await s.execute('sudo mkdir -p /etc/circleconfig/frontend')).exit).toBe(0);
    expect((await s.execute("echo 'export JVM_HEAP_SIZE=2g' | sudo tee -a /etc/circleconfig/frontend/customizations")).output).toBe('export JVM_HEAP_SIZE=2g');
    expect(readFileSync(join(etc, 'circleconfig/frontend/customizations'), 'utf8')).toBe('export JVM_HEAP_SIZE=2g\n');
    expect((await s.execute("echo 'export X=1' | tee /etc/circleconfig/frontend/customizations")).output).toMatch(/tee: .*Permission denied/);
    // A file changed on the machine behind the console's back is what cat shows.
    mkdirSync(join(etc, 'circleconfig/domain-service'));
    writeFileSync(join(etc, 'circleconfig/domain-service/customizations'), 'export DOMAIN_SERVICE_REFRESH_USERS=false\n');
    expect((await s.execute('cat /etc/circleconfig/domain-service/customizations')).output).toBe('export DOMAIN_SERVICE_REFRESH_USERS=false');
    expect((await s.execute('ls /etc/circleconfig')).output).toBe('domain-service\nfrontend');
    expect((await s.execute('sudo rm /etc/circleconfig/domain-service/customizations')).exit).toBe(0);
    expect((await s.execute('ls /etc/circleconfig/domain-service')).output).toBe('');
    expect((await s.execute('sudo sh -c \'echo "export A=1" > /etc/passwd\'')).exit).toBe(1);
  });

  it('applies the files at the app\'s start from stopped: docker exec env and the REPL show them then, not before', async () => {
    const { s, inst } = setUp();
    await s.execute('sudo mkdir -p /etc/circleconfig/frontend');
    await s.execute('sudo sh -c \'echo "export JVM_HEAP_SIZE=2g" >> /etc/circleconfig/frontend/customizations\'');
    expect(await s.execute('sudo docker exec frontend printenv JVM_HEAP_SIZE')).toMatchObject({ output: '', exit: 1 });
    expect((await s.execute(`sudo replicated app ${APP} stop`)).output).toBe('Stopping app... done');
    expect((await s.execute(`sudo replicated app ${APP} status`)).output).toBe('State: stopped');
    expect((await s.execute('sudo docker exec frontend env')).output).toMatch(/^Error response from daemon: Container [0-9a-f]+ is not running$/);
    expect((await s.execute(`sudo replicated app ${APP} start`)).output).toBe('Starting app... done');
    expect(inst.machine.started).toHaveLength(1);
    expect(inst.machine.started[0]!.get('frontend')).toEqual({ JVM_HEAP_SIZE: '2g' });
    expect((await s.execute('sudo docker exec frontend printenv JVM_HEAP_SIZE')).output).toBe('2g');
    expect((await s.execute('sudo docker exec frontend env')).output).toMatch(/^PATH=.*\nHOSTNAME=[0-9a-f]+\nJVM_HEAP_SIZE=2g$/);
    // The REPL reads the same environment; `exit` leaves it for the shell.
    expect((await s.execute('sudo docker exec -it frontend lein repl :connect 6005')).output).toMatch(/^Connecting to nREPL at 127\.0\.0\.1:6005/);
    expect(s.prompt).toBe('user=> ');
    expect((await s.execute('(-> (java.lang.Runtime/getRuntime) (.maxMemory))')).output).toBe(String(2 * 1024 ** 3));
    expect((await s.execute('(System/getenv "JVM_HEAP_SIZE")')).output).toBe('"2g"');
    expect((await s.execute('exit')).output).toBe('Bye for now!');
    expect(s.prompt).toMatch(/^ubuntu@/);
    expect((await s.execute('sudo docker exec -it frontend lein repl :connect 6007')).exit).toBe(1);
    // A start of a running app creates nothing again: an edit since then is not applied.
    await s.execute("echo 'export JVM_HEAP_SIZE=4g' | sudo tee /etc/circleconfig/frontend/customizations");
    await s.execute(`sudo replicated app ${APP} start`);
    expect((await s.execute('sudo docker exec frontend printenv JVM_HEAP_SIZE')).output).toBe('2g');
    expect((await s.execute('sudo replicated apps')).output).toMatch(new RegExp(`^ID\\s+NAME\\s+RELEASE\\n${APP}  CircleCI Enterprise`));
  });

  it('sudo rm -rf /opt/nomad wipes the Nomad server\'s data dir, telling the machine whether the server runs; rm\'s own refusals first', async () => {
    const { s, inst } = setUp('nomad-state-stale-after-restore');
    expect(await s.execute('ls /opt/nomad')).toMatchObject({ output: 'server', exit: 0 });
    expect((await s.execute('rm -rf /opt/nomad')).output).toBe("rm: cannot remove '/opt/nomad': Permission denied");
    expect((await s.execute('sudo rm /opt/nomad')).output).toBe("rm: cannot remove '/opt/nomad': Is a directory");
    expect(inst.machine.wipes).toEqual([]);
    // With the app running: the machine is told so (its server writes its state back).
    expect(await s.execute('sudo rm -rf /opt/nomad')).toMatchObject({ output: '', exit: 0 });
    expect(inst.machine.wipes).toEqual([true]);
    await s.execute(`sudo replicated app ${APP} stop`);
    expect(await s.execute('sudo rm -rf /opt/nomad/*')).toMatchObject({ output: '', exit: 0 });
    expect(inst.machine.wipes).toEqual([true, false]);
    expect(await s.execute('ls /opt/nomad')).toMatchObject({ output: '', exit: 0 });
    expect((await s.execute('sudo rm -r /opt/nomad')).output).toBe("rm: cannot remove '/opt/nomad': No such file or directory");
    expect(await s.execute('sudo rm -rf /opt/nomad')).toMatchObject({ output: '', exit: 0 });
    inst.machine.nomadEntries = undefined;
    expect(await s.execute('ls /opt/nomad')).toMatchObject({ output: "ls: cannot access '/opt/nomad': No such file or directory", exit: 2 });
  });

  it('df shows the real filesystem holding the stack\'s data and each directory\'s size', async () => {
    const { s } = setUp();
    const df = await s.execute('df -h');
    expect(df.exit).toBe(0);
    const [head, row] = df.output.split('\n');
    expect(head).toMatch(/^Filesystem\s+Size\s+Used\s+Avail\s+Use% Mounted on$/);
    expect(row).toMatch(/^\S+\s+\d[\d.]*[KMGTP]\s+\d[\d.]*[KMGTP]?\s+\d[\d.]*[KMGTP]?\s+\d{1,3}% \//);
    // The 64 KiB file in postgres's directory: du counts its blocks.
    expect(df.output).toMatch(/^ {2}postgres +(6[48]|7[26])K {3}\//m);
  });

  it('aws autoscaling calls the EC2 endpoint for real: describe shows the group, update changes it, an unknown group is AWS\'s ValidationError', async () => {
    const { s } = setUp('no-nomad-clients');
    const described = JSON.parse((await s.execute(`aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${GROUP}`)).output) as { AutoScalingGroups: { MinSize: number; DesiredCapacity: number; AutoScalingGroupName: string }[] };
    expect(described.AutoScalingGroups.map((g) => [g.AutoScalingGroupName, g.MinSize, g.DesiredCapacity])).toEqual([[GROUP, 4, 4]]);
    expect(await s.execute(`aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${GROUP} --min-size 0 --desired-capacity 0`)).toMatchObject({ output: '', exit: 0 });
    expect(ec2.state.autoscaling.requireGroup(GROUP)).toMatchObject({ minSize: 0, desiredCapacity: 0 });
    expect((await s.execute('aws autoscaling describe-auto-scaling-groups | grep DesiredCapacity')).output).toMatch(/"DesiredCapacity": 0,/);
    const bad = await s.execute('aws autoscaling update-auto-scaling-group --auto-scaling-group-name nomad-clientz --min-size 4');
    expect(bad.exit).toBe(255);
    expect(bad.output).toMatch(/^\nAn error occurred \(ValidationError\) when calling the UpdateAutoScalingGroup operation: /);
    expect(await s.execute(`aws autoscaling set-desired-capacity --auto-scaling-group-name ${GROUP} --desired-capacity 2`)).toMatchObject({ exit: 0 });
    expect(ec2.state.autoscaling.requireGroup(GROUP).desiredCapacity).toBe(2);
  });
});
