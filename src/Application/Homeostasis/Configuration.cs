using System.Globalization;
using Aetherra.Domain.Homeostasis;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Configuration;

namespace Aetherra.Application.Homeostasis;

/// <summary>
/// How often vitals are sampled, how they are judged, and the default setpoints (PUT /homeostasis/setpoints
/// overrides any of them). Read from configuration: AETHERRA_VITALS_SECONDS (0 turns the timer off),
/// AETHERRA_NODE, AETHERRA_HOMEOSTASIS_{ALPHA,K,WARMUP,RAISE_AFTER,RESOLVE_AFTER} and
/// AETHERRA_HOMEOSTASIS_SUBJECT_BUDGET.
/// </summary>
public sealed record HomeostasisSettings(TimeSpan Interval, string Node, Tuning Tuning, long SubjectBudget)
{
    public static HomeostasisSettings From(IConfiguration config)
    {
        double Number(string name, double fallback) =>
            double.TryParse(config[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        var d = Tuning.Default;
        var tuning = new Tuning(
            Number("AETHERRA_HOMEOSTASIS_ALPHA", d.Alpha), Number("AETHERRA_HOMEOSTASIS_K", d.K),
            (int)Number("AETHERRA_HOMEOSTASIS_WARMUP", d.WarmUp), (int)Number("AETHERRA_HOMEOSTASIS_RAISE_AFTER", d.RaiseAfter),
            (int)Number("AETHERRA_HOMEOSTASIS_RESOLVE_AFTER", d.ResolveAfter), d.MinSpread);
        if (!tuning.IsValid) throw new InvalidOperationException($"Invalid homeostasis tuning: {tuning}");
        var node = config["AETHERRA_NODE"] is { Length: > 0 } n ? n : Environment.MachineName;
        return new HomeostasisSettings(TimeSpan.FromSeconds(Number("AETHERRA_VITALS_SECONDS", 60)), node, tuning,
            (long)Number("AETHERRA_HOMEOSTASIS_SUBJECT_BUDGET", 10_000));
    }

    /// <summary>The setpoint a vital has until one is set through the API.</summary>
    public Setpoint DefaultSetpoint(string vital) => vital switch
    {
        Vitals.RecallLatency or Vitals.WriteLatency => new(null, 1_000),
        Vitals.ErrorRate => new(null, 0.05),
        Vitals.LargestSubject => new(null, SubjectBudget),
        Vitals.PluginFailureRate => new(null, 0.5),
        Vitals.AiFailureRate => new(null, 0.5),
        Vitals.AutoApprovedFailureRate => new(null, 0.25),
        // Any skipped event is a read model missing something until an operator retries or skips it.
        Vitals.DeadLetters => new(null, 0),
        _ when vital.StartsWith(Vitals.ProjectionLagPrefix, StringComparison.Ordinal) => new(null, 10_000),
        _ => Setpoint.None,
    };
}

public static class HomeostasisConfiguration
{
    /// <summary>Homeostasis belongs to the system, not to a tenant: its streams and documents live in Marten's default tenant.</summary>
    public const string Tenant = JasperFx.StorageConstants.DefaultTenantId;

    public static void Configure(StoreOptions opts, HomeostasisSettings settings)
    {
        opts.Events.MapEventType<VitalsSampled>("homeostasis.vitals-sampled.v1");
        opts.Events.MapEventType<DeviationDetected>("homeostasis.deviation-detected.v1");
        opts.Events.MapEventType<DeviationResolved>("homeostasis.deviation-resolved.v1");
        opts.Events.MapEventType<CorrectionApplied>("homeostasis.correction-applied.v1");
        opts.Events.MapEventType<SetpointChanged>("homeostasis.setpoint-changed.v1");

        opts.Projections.Add(new HomeostasisProjection(settings.Tuning.Alpha), ProjectionLifecycle.Inline);
        opts.Projections.Add(new SetpointsProjection(), ProjectionLifecycle.Inline);
    }
}
