using Wolverine.Attributes;

namespace Aetherra.Application.Plugins;

/// <summary>
/// A correction's command to disable a failing plugin (homeostasis sends it through Wolverine). Handled by
/// <see cref="DisablePluginHandler"/> as <see cref="Actor"/> in <see cref="Tenant"/>, with the same event and audit
/// record as POST /plugins/{id}/disable; answers <see cref="PluginStatusResult"/>.
/// </summary>
[MessageIdentity("plugins.disable-correction.v1")]
public sealed record DisablePluginCorrection(string Tenant, string PluginId, string Reason, string Actor);
