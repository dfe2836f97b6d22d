/*
 * In-process OpenSearch 2.19 node for the `stores` integration tests.
 *
 * Started by integration-tests/services/opensearch.sh with a flat classpath
 * (target/opensearch-launcher.jar + target/dependency/*.jar) on Java 17.
 *
 * Usage: java ... dev.stores.opensearch.Launcher key=value [key=value ...]
 *   Every argument is an OpenSearch setting (e.g. path.home=/x http.port=59200).
 *   path.home and http.port are required; sensible single-node defaults are
 *   applied for everything else.
 *
 * Protocol with the script:
 *   - prints exactly one line "READY http://<host>:<port>" on stdout once the
 *     HTTP layer is bound and the node has started;
 *   - when stdin reaches EOF (the parent closed it / the holder process died)
 *     the node is closed and the JVM exits, so no JVM is ever orphaned;
 *   - SIGTERM also closes the node cleanly (shutdown hook).
 *
 * No bootstrap checks, no security manager, no JarHell check: those live in
 * org.opensearch.bootstrap.Bootstrap, which we deliberately bypass.
 */
package dev.stores.opensearch;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.join.ParentJoinPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class Launcher {

    /** Plugins that a distribution would load as modules; here they come from the classpath. */
    private static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        PainlessPlugin.class,
        ReindexPlugin.class,
        MapperExtrasPlugin.class,
        ParentJoinPlugin.class
    );

    /** Node subclass only to reach the protected constructor that accepts classpath plugins. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private static final AtomicBoolean CLOSED = new AtomicBoolean(false);

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Settings.Builder builder = Settings.builder()
            .put("cluster.name", "stores-test")
            .put("node.name", "stores-test-node")
            .put("network.host", "127.0.0.1")
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            // Tests create many small indices; keep shard counts low by default.
            .put("cluster.max_shards_per_node", 10000);
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                fail("argument must be key=value, got: " + arg);
            }
            builder.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        Settings settings = builder.build();
        for (String required : Arrays.asList("path.home", "http.port")) {
            if (!settings.hasValue(required)) {
                fail("missing required setting " + required);
            }
        }

        String nodeName = settings.get("node.name");
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new EmbeddedNode(environment, PLUGINS);

        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> closeNode(node), "launcher-shutdown-hook"));

        Thread stdinWatcher = new Thread(() -> {
            try {
                InputStream in = System.in;
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) {
                    // ignore anything written; we only care about EOF
                }
            } catch (IOException e) {
                // treat a broken stdin like EOF
            }
            System.err.println("launcher: stdin closed, stopping OpenSearch");
            stop.countDown();
        }, "launcher-stdin-watcher");
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();

        try {
            node.start();
        } catch (Throwable t) {
            System.err.println("launcher: node failed to start");
            t.printStackTrace();
            closeNode(node);
            // Repeat the cause chain last, so a short log tail shows what went wrong.
            for (Throwable c = t; c != null; c = c.getCause()) {
                System.err.println("launcher: FAILED: " + c);
            }
            System.exit(1);
        }

        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        TransportAddress publish = http.boundAddress().publishAddress();
        System.out.println("READY http://" + publish.getAddress() + ":" + publish.getPort());
        System.out.flush();

        stop.await();
        closeNode(node);
        System.exit(0);
    }

    private static void closeNode(Node node) {
        if (!CLOSED.compareAndSet(false, true)) {
            return;
        }
        try {
            node.close();
            if (!node.awaitClose(10, TimeUnit.SECONDS)) {
                System.err.println("launcher: node did not close within 10s");
            }
        } catch (Exception e) {
            System.err.println("launcher: error while closing node: " + e);
        }
    }

    private static void fail(String message) {
        System.err.println("launcher: " + message);
        System.exit(2);
    }
}
