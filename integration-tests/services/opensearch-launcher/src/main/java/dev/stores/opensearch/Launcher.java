/*
 * In-process OpenSearch 2.19 node for the `stores` integration tests.
 *
 * Started by integration-tests/services/opensearch.sh with a flat classpath
 * (target/opensearch-launcher.jar + target/dependency/*.jar) on Java 17.
 * Usage: java ... dev.stores.opensearch.Launcher key=value [key=value ...]
 * (every argument an OpenSearch setting; path.home and http.port required). The READY line
 * and the stdin protocol are dev.stores.launcher.NodeRunner's.
 *
 * No bootstrap checks, no security manager, no JarHell check: those live in
 * org.opensearch.bootstrap.Bootstrap, which we deliberately bypass.
 */
package dev.stores.opensearch;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.stores.launcher.NodeRunner;
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

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Settings.Builder builder = Settings.builder();
        NodeRunner.settings(args).forEach(builder::put);
        Settings settings = builder.build();
        String nodeName = settings.get("node.name");
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new EmbeddedNode(environment, PLUGINS);
        NodeRunner.run("OpenSearch", new NodeRunner.Node() {
            @Override
            public void start() throws Exception {
                node.start();
            }

            @Override
            public String httpAddress() {
                TransportAddress publish = node.injector().getInstance(HttpServerTransport.class)
                    .boundAddress().publishAddress();
                return publish.getAddress() + ":" + publish.getPort();
            }

            @Override
            public boolean closeAndWait() throws Exception {
                node.close();
                return node.awaitClose(10, TimeUnit.SECONDS);
            }
        });
    }
}
