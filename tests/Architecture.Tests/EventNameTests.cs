using System.Reflection;
using System.Text.RegularExpressions;
using Marten;
using Marten.Events;

namespace Aetherra.Architecture.Tests;

/// <summary>
/// Marten stores an event's type name in every row. Left to Marten, that name follows the CLR type name,
/// so renaming or moving a record would orphan the events already stored; an explicit, versioned name
/// ("memory.recorded.v1") is a contract the code can be refactored under.
/// </summary>
public static partial class EventNames
{
    [GeneratedRegex(@"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+\.v[0-9]+$")]
    private static partial Regex Versioned();

    /// <summary>
    /// Events are the public sealed records of an assembly, except folded state (a record with a static
    /// Create) and values carried inside another record (EncryptedText). Names are no guide: "Forgotten"
    /// is as past tense as "Recorded". A new top-level record counts as an event until shown otherwise,
    /// so forgetting to name one fails here rather than in a stored row.
    /// </summary>
    public static IReadOnlyList<Type> EventTypes(Assembly assembly)
    {
        var records = assembly.GetExportedTypes().Where(t => t.IsSealed && IsRecord(t)).ToList();
        // Carried by any record, sealed or not (a script's syntax tree is carried by its unsealed ScriptProgram).
        var carried = assembly.GetExportedTypes().Where(IsRecord)
            .SelectMany(r => r.GetProperties().Select(p => p.PropertyType))
            // A value carried in a list (a conversation's turns, a configuration's providers) is carried too.
            .SelectMany(t => t.IsGenericType ? t.GetGenericArguments().Append(t) : [t])
            .Select(t => Nullable.GetUnderlyingType(t) ?? t)
            .ToHashSet();
        return records
            // A value carried as its abstract base (a script's syntax nodes, carried as Expr or Statement) is carried too.
            .Where(t => !carried.Contains(t) && !(t.BaseType is { IsAbstract: true } b && carried.Contains(b))
                        && t.GetMethod("Create", BindingFlags.Public | BindingFlags.Static) is null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();
    }

    // The compiler gives every record class a "<Clone>$" method; no other class can declare one.
    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null;

    /// <summary>The event types whose stored name is not an explicit, versioned one, with the name Marten would store.</summary>
    public static IReadOnlyList<string> Unnamed(StoreOptions options, IEnumerable<Type> eventTypes) =>
        eventTypes
            .Select(type => (type, stored: Graph(options).EventMappingFor(type).EventTypeName))
            .Where(x => !Versioned().IsMatch(x.stored))
            .Select(x => $"{x.type.Name} -> {x.stored}")
            .ToList();

    // StoreOptions.Events is typed as the configuration interface; the object behind it is the EventGraph
    // that maps types to stored names.
    public static EventGraph Graph(StoreOptions options) => (EventGraph)options.Events;

    public static StoreOptions Configured()
    {
        var options = new StoreOptions();
        Aetherra.Application.Audit.Configuration.Configure(options);
        Aetherra.Application.Memory.MemoryConfiguration.Configure(options);
        Aetherra.Application.Plugins.PluginConfiguration.Configure(options);
        Aetherra.Application.Decisions.DecisionConfiguration.Configure(options);
        Aetherra.Application.Agents.AgentConfiguration.Configure(options);
        Aetherra.Application.Tasks.TaskConfiguration.Configure(options);
        Aetherra.Application.Changes.ChangeConfiguration.Configure(options);
        Aetherra.Application.Scripts.ScriptConfiguration.Configure(options);
        Aetherra.Application.SelfModel.SelfModelConfiguration.Configure(options);
        Aetherra.Application.Operations.OperationsConfiguration.Configure(options);
        Aetherra.Application.Conversations.ConversationConfiguration.Configure(options);
        Aetherra.Application.Ai.AiConfiguration.Configure(options);
        Aetherra.Application.Recall.RecallConfiguration.Configure(options);
        Aetherra.Application.Homeostasis.HomeostasisConfiguration.Configure(options,
            Aetherra.Application.Homeostasis.HomeostasisSettings.From(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()));
        return options;
    }
}

/// <summary>Not registered anywhere: the proof that an event left to Marten's default name is reported.</summary>
public sealed record ThingHappened(Guid Id, ThingDetail Detail);

/// <summary>A value carried inside an event, not an event.</summary>
public sealed record ThingDetail(string Text);

/// <summary>Folded state, not an event.</summary>
public sealed record Thing(Guid Id)
{
    public static Thing Create(ThingHappened e) => new(e.Id);
}

/// <summary>Sealed but not a record: not an event.</summary>
public sealed class ThingRequested;

public sealed class EventNameTests
{
    [Fact]
    public void every_domain_event_has_an_explicit_versioned_stored_name()
    {
        Assert.Empty(EventNames.Unnamed(EventNames.Configured(), EventNames.EventTypes(Assemblies.Domain)));
    }

    [Fact]
    public void the_event_criterion_finds_the_known_domain_events_but_not_state_or_values()
    {
        var found = EventNames.EventTypes(Assemblies.Domain).ToHashSet();

        Assert.Subset(found, new HashSet<Type>([
            typeof(Aetherra.Domain.Audit.AuditRecorded), typeof(Aetherra.Domain.Memory.MemoryRecorded),
            typeof(Aetherra.Domain.Memory.MemoryRevised), typeof(Aetherra.Domain.Memory.MemoryForgotten),
            typeof(Aetherra.Domain.Memory.SubjectForgotten)]));
        Assert.DoesNotContain(typeof(Aetherra.Domain.Memory.Memory), found);
        Assert.DoesNotContain(typeof(Aetherra.Domain.Memory.EncryptedText), found);
    }

    [Fact]
    public void the_registered_names_are_the_ones_the_store_already_holds()
    {
        var options = EventNames.Configured();

        Assert.Equal("memory.recorded.v1", EventNames.Graph(options).EventMappingFor(typeof(Aetherra.Domain.Memory.MemoryRecorded)).EventTypeName);
        Assert.Equal("audit.recorded.v1", EventNames.Graph(options).EventMappingFor(typeof(Aetherra.Domain.Audit.AuditRecorded)).EventTypeName);
    }

    [Fact]
    public void an_event_left_to_marten_s_default_name_is_reported()
    {
        var types = EventNames.EventTypes(Assemblies.Tests);
        Assert.Equal([typeof(ThingHappened)], types);

        var unnamed = EventNames.Unnamed(EventNames.Configured(), types);

        var report = Assert.Single(unnamed);
        Assert.StartsWith("ThingHappened -> ", report);
    }

    [Fact]
    public void without_the_feature_configuration_every_domain_event_is_reported()
    {
        var types = EventNames.EventTypes(Assemblies.Domain);
        Assert.NotEmpty(types);

        Assert.Equal(types.Count, EventNames.Unnamed(new StoreOptions(), types).Count);
    }
}
