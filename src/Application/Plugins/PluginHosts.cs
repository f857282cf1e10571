namespace Aetherra.Application.Plugins;

/// <summary>
/// The endpoint allowlist (AETHERRA_PLUGIN_HOSTS): entries "host" (any port) or "host:port"; IPv6 as "[::1]" or
/// "[::1]:8080". A plugin endpoint must be an absolute http(s) URL without credentials whose host is listed.
/// </summary>
public sealed class PluginHosts
{
    private readonly List<(string Host, int? Port)> _entries;

    private PluginHosts(List<(string, int?)> entries) => _entries = entries;

    public IReadOnlyList<string> Entries => _entries.Select(e => e.Port is { } p ? $"{e.Host}:{p}" : e.Host).ToList();

    public static PluginHosts Parse(string? text)
    {
        var entries = new List<(string, int?)>();
        foreach (var raw in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate("http://" + raw, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || uri.UserInfo.Length > 0)
                throw new InvalidOperationException($"AETHERRA_PLUGIN_HOSTS: '{raw}' is not a host or host:port");
            var explicitPort = raw.EndsWith(":" + uri.Port, StringComparison.Ordinal);
            entries.Add((uri.IdnHost.ToLowerInvariant(), explicitPort ? uri.Port : null));
        }
        return new PluginHosts(entries);
    }

    /// <summary>Why the endpoint is not acceptable, or null when it is.</summary>
    public string? Refusal(string endpoint)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return "the endpoint must be an absolute http or https URL";
        if (uri.UserInfo.Length > 0) return "the endpoint must not carry credentials";
        return Allows(uri) ? null : $"the endpoint host '{uri.Authority}' is not in the plugin host allowlist (AETHERRA_PLUGIN_HOSTS)";
    }

    public bool Allows(Uri uri)
    {
        var host = uri.IdnHost.ToLowerInvariant();
        var bracketed = uri.HostNameType == UriHostNameType.IPv6 ? $"[{host.Trim('[', ']')}]" : host;
        return _entries.Any(e => (e.Host == host || e.Host == bracketed) && (e.Port is null || e.Port == uri.Port));
    }
}
