namespace Aetherra.Application.Plugins;

/// <summary>Audit action names of the plugin commands (also the endpoints' operation ids).</summary>
public static class PluginActions
{
    public const string TrustPublisher = "trust.publisher-trust";
    public const string RevokePublisher = "trust.publisher-revoke";
    public const string Register = "plugin.register";
    public const string Enable = "plugin.enable";
    public const string Disable = "plugin.disable";
    public const string Retire = "plugin.retire";
    public const string Invoke = "plugin.invoke";
}

public static class PluginLimits
{
    public const int MaxIdLength = 128;
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2_000;
    public const int MaxEndpointLength = 2_000;
    public const int MaxCapabilities = 64;
    public const int MaxReasonLength = 1_000;
    public const int MaxInputBytes = 256 * 1024;

    /// <summary>Plugin ids are reverse-DNS-like: "com.example.weather". Safe in a path and in a log line.</summary>
    public const string IdPattern = "^[a-z0-9](?:[a-z0-9-]{0,62})(?:\\.[a-z0-9](?:[a-z0-9-]{0,62})){1,7}$";

    /// <summary>Capability and category names: "forecast", "weather.daily".</summary>
    public const string NamePattern = "^[a-z][a-z0-9._-]{0,63}$";
}
