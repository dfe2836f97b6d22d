/*
 * The life cycle both in-process search launchers share (OpenSearch and Elasticsearch):
 * key=value arguments, one "READY http://<host>:<port>" line on stdout once the node is up,
 * and a clean close when stdin reaches EOF (the script's holder process died) or on SIGTERM,
 * so no JVM is ever orphaned. Compiled into each launcher (build-helper's add-source), since
 * the two servers' classes cannot share one classpath.
 */
package dev.stores.launcher;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

public final class NodeRunner {

    /** The one node a launcher runs, whatever its server. */
    public interface Node {
        /** Starts the node; returns once its HTTP layer is bound. */
        void start() throws Exception;

        /** The HTTP publish address, "host:port". */
        String httpAddress();

        /** Closes the node, waiting up to 10 s; false when it did not finish. */
        boolean closeAndWait() throws Exception;
    }

    private static final AtomicBoolean CLOSED = new AtomicBoolean(false);

    private NodeRunner() {}

    /** The settings: single-node defaults overridden by every key=value argument. */
    public static Map<String, String> settings(String[] args) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("cluster.name", "stores-test");
        settings.put("node.name", "stores-test-node");
        settings.put("network.host", "127.0.0.1");
        settings.put("discovery.type", "single-node");
        settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        settings.put("action.auto_create_index", "true");
        // Tests create many small indices; keep shard limits out of the way.
        settings.put("cluster.max_shards_per_node", "10000");
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                fail("argument must be key=value, got: " + arg);
            }
            settings.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        for (String required : List.of("path.home", "http.port")) {
            if (settings.getOrDefault(required, "").isEmpty()) {
                fail("missing required setting " + required);
            }
        }
        return settings;
    }

    /** Starts `node`, prints READY, and runs until stdin closes; never returns. */
    public static void run(String label, Node node) throws InterruptedException {
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(node), "launcher-shutdown-hook"));
        Thread stdinWatcher = new Thread(() -> {
            try {
                byte[] buf = new byte[256];
                while (System.in.read(buf) >= 0) {
                    // only EOF matters
                }
            } catch (IOException e) {
                // a broken stdin counts as EOF
            }
            System.err.println("launcher: stdin closed, stopping " + label);
            stop.countDown();
        }, "launcher-stdin-watcher");
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();

        try {
            node.start();
        } catch (Throwable t) {
            System.err.println("launcher: node failed to start");
            t.printStackTrace();
            close(node);
            // Repeat the cause chain last, so a short log tail shows what went wrong.
            for (Throwable c = t; c != null; c = c.getCause()) {
                System.err.println("launcher: FAILED: " + c);
            }
            System.exit(1);
        }
        System.out.println("READY http://" + node.httpAddress());
        System.out.flush();

        stop.await();
        close(node);
        System.exit(0);
    }

    private static void close(Node node) {
        if (!CLOSED.compareAndSet(false, true)) {
            return;
        }
        try {
            if (!node.closeAndWait()) {
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
