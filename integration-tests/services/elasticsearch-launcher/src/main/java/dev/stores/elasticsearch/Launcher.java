/*
 * In-process Elasticsearch 7.10.2 node for the `stores` integration tests.
 *
 * Started by integration-tests/services/elasticsearch.sh with a flat classpath
 * (target/elasticsearch-launcher.jar + target/dependency/*.jar).
 * Usage: java ... dev.stores.elasticsearch.Launcher key=value [key=value ...]
 * (every argument an Elasticsearch setting; path.home and http.port required). The READY line
 * and the stdin protocol are dev.stores.launcher.NodeRunner's.
 *
 * Only modules published on Maven Central are loaded: the HTTP/transport layer (netty4),
 * reindex, mapper-extras, and x-pack-core (Elastic License 2.0), which holds 7.10's point in
 * time (`POST /<index>/_pit`) and reports a basic license; its security stays off.
 * analysis-common (ngram, asciifolding, ... filters) and lang-painless (scripts) are not
 * published there, so this node has neither. No bootstrap checks, no security manager,
 * no JarHell check: those live in org.elasticsearch.bootstrap.Bootstrap, which is bypassed.
 */
package dev.stores.elasticsearch;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.stores.launcher.NodeRunner;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.transport.TransportAddress;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.index.mapper.MapperExtrasPlugin;
import org.elasticsearch.index.reindex.ReindexPlugin;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.Netty4Plugin;
import org.elasticsearch.xpack.core.XPackPlugin;

public final class Launcher {

    /** The modules a distribution would load from modules/; here they come from the classpath. */
    private static final List<Class<? extends Plugin>> PLUGINS =
        List.of(Netty4Plugin.class, ReindexPlugin.class, MapperExtrasPlugin.class, XPackPlugin.class);

    /** Node subclass only to reach the protected constructor that accepts classpath plugins. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> given = NodeRunner.settings(args);
        given.putIfAbsent("xpack.security.enabled", "false");
        Settings.Builder builder = Settings.builder();
        given.forEach(builder::put);
        Settings settings = builder.build();
        String nodeName = settings.get("node.name");
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new EmbeddedNode(environment, PLUGINS);
        NodeRunner.run("Elasticsearch", new NodeRunner.Node() {
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
