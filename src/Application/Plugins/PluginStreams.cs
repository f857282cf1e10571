using System.Security.Cryptography;
using System.Text;

namespace Aetherra.Application.Plugins;

/// <summary>
/// Plugins and publisher keys are named by strings (a manifest id, a key id), so their streams get name-based
/// UUIDs (RFC 9562 version 5). The tenant is part of the name: two tenants registering the same plugin id get
/// different streams whatever the store's keys, and a lookup by another tenant finds nothing (404).
/// </summary>
public static class PluginStreams
{
    private static readonly Guid Namespace = new("6f1d8c8e-3b0a-5c55-9f5e-7a1e2b3c4d50");

    public static Guid Plugin(string tenant, string pluginId) => NameBased($"plugin\n{tenant}\n{pluginId}");

    public static Guid PublisherKey(string tenant, string keyId) => NameBased($"publisher-key\n{tenant}\n{keyId}");

    public static Guid NameBased(string name)
    {
        var ns = Namespace.ToByteArray(bigEndian: true);
        var input = ns.Concat(Encoding.UTF8.GetBytes(name)).ToArray();
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 version 5 prescribes; it names, it does not protect.
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
