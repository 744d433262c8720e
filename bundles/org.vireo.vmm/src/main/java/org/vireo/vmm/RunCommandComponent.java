package org.vireo.vmm;

import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.vireo.machine.Machine;

/**
 * Runs {@code vireo run ARGS} inside the framework. The launcher passes the arguments as the framework property
 * {@value #ARGS_PROPERTY} (joined with NUL); this component claims the command at once by setting the system
 * property {@value #CLAIMED_PROPERTY}, runs the VM on its own thread, then publishes the exit code in
 * {@value #EXIT_CODE_PROPERTY} and stops the framework. While the VM exists it is registered as a
 * {@link Machine} service named {@value #MACHINE_NAME} (property {@code machine.kind=x86}), and the devices of the
 * command line are ConfigurationAdmin factory configurations for that machine on virtio-pci ({@link OsgiWiring}),
 * all plugged before the kernel starts, so they are there for the guest's bus scan. The device options are those of the
 * {@link org.vireo.virtio.kind.DeviceKind} services present ({@link FrameworkDeviceKinds}).
 */
@Component(immediate = true, service = {})
// Says "this bundle handles vireo run", so the launcher starts it and what it needs before the bundles a run does not
// (the shell, Gogo, FileInstall's deploy directory, Java drivers), and the guest starts while those do.
@org.osgi.annotation.bundle.Capability(namespace = RunCommandComponent.COMMAND_NAMESPACE, name = "run")
public final class RunCommandComponent {
    /** The capability namespace of launcher commands: {@code vireo.command=run} (launch/README.md). */
    public static final String COMMAND_NAMESPACE = "vireo.command";
    public static final String ARGS_PROPERTY = "vireo.run.args";
    public static final String CLAIMED_PROPERTY = "vireo.run.claimed";
    public static final String EXIT_CODE_PROPERTY = "vireo.exit.code";
    public static final String MACHINE_NAME = "vm";

    private static final System.Logger LOG = System.getLogger(RunCommandComponent.class.getName());

    private final VmRunner runner;
    private Thread thread;

    public RunCommandComponent() { this(new VmRunner()); }

    RunCommandComponent(VmRunner runner) { this.runner = runner; }

    @Activate
    void activate(BundleContext context) {
        String joined = context.getProperty(ARGS_PROPERTY);
        // A framework runs the command once, even if this bundle is restarted.
        if (joined == null || Boolean.getBoolean(CLAIMED_PROPERTY)) return;
        System.setProperty(CLAIMED_PROPERTY, "true");
        runner.setWiring(new OsgiWiring(context));
        runner.setDeviceKinds(() -> FrameworkDeviceKinds.await(context));
        String[] args = joined.isEmpty() ? new String[0] : joined.split("\0", -1);
        thread = new Thread(() -> {
            int code;
            try {
                code = runner.run(args);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "vireo run failed", e);
                code = VmRunner.EXIT_ERROR;
            }
            System.setProperty(EXIT_CODE_PROPERTY, Integer.toString(code));
            try {
                context.getBundle(0).stop();       // asynchronous: the framework stops on its own thread
            } catch (BundleException | IllegalStateException e) {
                LOG.log(System.Logger.Level.ERROR, "cannot stop the framework after vireo run", e);
            }
        }, "vireo-run");
        thread.start();
    }

    @Deactivate
    void deactivate() {
        Thread t = thread;
        if (t == null || t == Thread.currentThread()) return;
        runner.stop();
        try {
            t.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
