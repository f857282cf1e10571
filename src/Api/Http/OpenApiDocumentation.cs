using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using FluentValidation.Validators;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Aetherra.Api.Http;

/// <summary>
/// The OpenAPI document (/openapi/v1.json) made accurate for readers and client generators, from what the endpoints
/// already declare rather than per-endpoint annotations, so that a new endpoint is documented the same way:
/// required = what the validator requires (else what is not nullable), numbers are numbers, every operation lists
/// the problem answers the pipeline can give (ProblemDetails), the Bearer scheme on every authenticated operation,
/// created answers as 201, readable summaries.
/// </summary>
public static class OpenApiDocumentation
{
    public const string BearerScheme = "Bearer";
    private const string Problem = "ProblemDetails";

    /// <summary>Commands whose success is 201 Created; the value says whether they can also answer 200 (a repeat).</summary>
    private static readonly Dictionary<string, bool> Creates = new()
    {
        ["memory.record"] = true,        // 200 when deduplicated
        ["plugin.register"] = true,      // 200 when it upgrades a registered plugin
        ["key.create"] = false,
        ["decision.propose"] = false,
        ["trust.publisher-trust"] = false,
        ["hub.source-add"] = false,
        ["hub.plugin-import"] = true,    // 200 when it upgrades a registered plugin
    };

    /// <summary>Summaries by operation id; an operation not listed gets one made from its id ("memory.record" → "Memory: record").</summary>
    private static readonly Dictionary<string, string> Summaries = new()
    {
        ["key.create"] = "Issue an API key for a tenant (shown once)",
        ["key.revoke"] = "Revoke an API key",
        ["admin.status"] = "The installation's status",
        ["projection.list"] = "List the read models with their position and lag",
        ["projection.rebuild"] = "Rebuild an async projection (a background job)",
        ["job.get"] = "A background job's progress",
        ["audit.list"] = "The audit trail: every command, accepted or rejected",
        ["audit.checkpoint"] = "The latest signed checkpoint of the audit log (a C2SP signed note)",
        ["audit.public-key"] = "The audit log's public key",
        ["audit.proof.inclusion"] = "Proof that an event is in the audit log",
        ["audit.proof.consistency"] = "Proof that the log only grew between two sizes",
        ["audit.verify"] = "Recompute the audit log and check every checkpoint",
        ["decision.propose"] = "Propose a decision (auto-approved or escalated)",
        ["decision.list"] = "List decisions (the approval queue with status=escalated)",
        ["decision.approve"] = "Approve an escalated decision",
        ["decision.reject"] = "Reject an escalated decision",
        ["decision.outcome"] = "Record a decision's outcome",
        ["decision.get"] = "A decision, with the evidence it cited",
        ["learning.get"] = "What the learning loop knows of an agent",
        ["events.list"] = "Read the tenant's events in global order",
        ["events.stream"] = "The tenant's events, live (server-sent events)",
        ["homeostasis.get"] = "The system's vitals and corrections",
        ["homeostasis.setpoint"] = "Move a vital's setpoint",
        ["memory.record"] = "Record a memory",
        ["memory.record-batch"] = "Record up to 1000 memories in one transaction",
        ["memory.get"] = "Read a memory",
        ["memory.revise"] = "Revise a memory",
        ["memory.forget"] = "Forget a memory",
        ["memory.history"] = "A memory's versions",
        ["subject.forget"] = "Forget a subject (crypto-shredding)",
        ["memory.recall"] = "Recall memories relevant to a query",
        ["memory.reinforce"] = "Reinforce a memory that proved useful",
        ["memory.consolidate"] = "Fold near-duplicates of a subject (a background job)",
        ["memory.consolidation"] = "A consolidation job's progress",
        ["memory.archive"] = "Move old, never-recalled memories to the archive tier",
        ["memory.recall-shadow"] = "How the shadow ranking compares with the live one",
        ["plugin.register"] = "Register a signed plugin manifest",
        ["plugin.list"] = "The plugin catalog with its figures",
        ["plugin.get"] = "A plugin, its capabilities and manifest",
        ["plugin.enable"] = "Enable a plugin",
        ["plugin.disable"] = "Disable a plugin",
        ["plugin.retire"] = "Retire a plugin",
        ["plugin.invoke"] = "Invoke a plugin's capability",
        ["trust.publisher-trust"] = "Trust a publisher's key",
        ["trust.publisher-list"] = "The trusted publisher keys",
        ["trust.publisher-revoke"] = "Revoke a publisher's key (disables what it signed)",
        ["hub.catalogue"] = "The tenant's plugin catalogue, signed by the installation's audit key",
        ["hub.source-add"] = "Add another instance as a source of signed plugin catalogues",
        ["hub.source-list"] = "The tenant's hub sources",
        ["hub.source-get"] = "A hub source and the plugins it offers",
        ["hub.source-sync"] = "Sync a hub source now (a refused catalogue is recorded, then answered 422)",
        ["hub.plugin-import"] = "Register a plugin a hub source offers",
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Aetherra";
            document.Info.Description =
                "The system of record for AI assistants. Every route but the probes takes an API key: " +
                "`Authorization: Bearer <key>`. Errors are RFC 9457 problem details (`application/problem+json`).";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer",
                Description = "An Aetherra API key (ak_...); the bootstrap key is in .aetherra/admin.key after the first ops/run.",
            };
            document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
            document.Components.Schemas[Problem] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "RFC 9457 problem details; requestId matches the X-Request-Id header.",
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["type"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                    ["title"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                    ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer | JsonSchemaType.Null, Format = "int32" },
                    ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                    ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                    ["requestId"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                },
            };
            // Endpoints answering an IResult had it as their schema: an untyped object says the same, honestly.
            document.Components.Schemas.Remove("IResult");
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(TransformOperation);
        options.AddSchemaTransformer(TransformSchema);
    }

    private static Task TransformOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var method = description.HttpMethod?.ToUpperInvariant() ?? "GET";
        var id = operation.OperationId ?? "";

        // Summaries: Wolverine's default is the route's name ("POST_memories"), not words.
        operation.Summary = Summaries.TryGetValue(id, out var summary) ? summary : FromId(id);
        if (operation.Description is { } d && (d == $"{method}_{description.RelativePath?.Replace('/', '_')}" || d.Contains('_') && !d.Contains(' ')))
            operation.Description = null;

        operation.Responses ??= new OpenApiResponses();
        foreach (var response in operation.Responses.Values)
            if (response.Content is { } content)
                foreach (var media in content.Values)
                    if (media.Schema is OpenApiSchemaReference { Reference.Id: "IResult" })
                        media.Schema = new OpenApiSchema { Type = JsonSchemaType.Object };

        if (Creates.TryGetValue(id, out var alsoOk))
        {
            if (!operation.Responses.ContainsKey("201"))
                operation.Responses["201"] = new OpenApiResponse
                {
                    Description = "Created",
                    Content = operation.Responses.TryGetValue("200", out var ok) ? ok.Content : null,
                };
            if (!alsoOk) operation.Responses.Remove("200");
        }

        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var policies = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).Where(p => p is not null).ToList();
        var hasInput = description.ParameterDescriptions.Count > 0;
        var hasBody = description.ParameterDescriptions.Any(p => p.Source.Id == "Body");
        var command = method is "POST" or "PUT" or "DELETE" or "PATCH";

        if (hasInput) AddProblem(operation, context, "400", "Bad input: the fields named in `errors`, or an unparseable value");
        if (!anonymous)
        {
            AddProblem(operation, context, "401", "No API key, or an unknown or revoked one");
            AddProblem(operation, context, "403", policies.Count > 0
                ? $"The key lacks the scope: {string.Join(", ", policies)}"
                : "The key may not do this");
            AddProblem(operation, context, "429", "Too many requests: retry after the Retry-After header");
        }
        AddProblem(operation, context, "404", "Not found (another tenant's resource is not found either)");
        if (command)
        {
            AddProblem(operation, context, "409", "Conflict: a stale expectedVersion, a state that does not allow it, or the same Idempotency-Key still running");
            AddProblem(operation, context, "422", "A domain rule refused it, or an Idempotency-Key reused with another body");
        }
        if (hasBody) AddProblem(operation, context, "413", "The request body is too large");
        AddProblem(operation, context, "500", "An unexpected error (logged with the requestId)");
        AddProblem(operation, context, "503", "Not available yet: a read model behind minSequence, or the database; retry after Retry-After");

        if (!anonymous)
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
        }
        return Task.CompletedTask;
    }

    private static void AddProblem(OpenApiOperation operation, OpenApiOperationTransformerContext context, string status, string text)
    {
        if (operation.Responses!.TryGetValue(status, out var existing))
        {
            // Keep a schema the endpoint declared (400's validation problem), else describe it as a problem.
            if (existing is OpenApiResponse r)
            {
                if (r.Content is not { Count: > 0 })
                    r.Content = ProblemContent(context);
                r.Description = text;
            }
            return;
        }
        operation.Responses[status] = new OpenApiResponse { Description = text, Content = ProblemContent(context) };
    }

    private static Dictionary<string, OpenApiMediaType> ProblemContent(OpenApiOperationTransformerContext context) => new()
    {
        ["application/problem+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(Problem, context.Document) },
    };

    private static string FromId(string id)
    {
        var parts = id.Split('.', 2);
        return parts.Length == 2 && parts[0].Length > 0
            ? $"{char.ToUpperInvariant(parts[0][0])}{parts[0][1..]}: {parts[1].Replace('-', ' ')}"
            : id;
    }

    private static Task TransformSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        // Numbers are numbers: the web defaults also read numbers from strings, which the generator documents as
        // "number|string" with a pattern; clients should send numbers.
        if (schema.Type is { } type && (type & (JsonSchemaType.Number | JsonSchemaType.Integer)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonPropertyInfo is null && context.JsonTypeInfo.Kind == JsonTypeInfoKind.Object && schema.Properties is { Count: > 0 })
        {
            var clrType = context.JsonTypeInfo.Type;
            var validatorType = typeof(IValidator<>).MakeGenericType(clrType);
            var required = context.ApplicationServices.GetService(validatorType) is IValidator validator
                ? RequiredByValidator(validator)
                : null;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in context.JsonTypeInfo.Properties)
            {
                var member = property.AttributeProvider as MemberInfo;
                var isRequired = required is not null
                    ? member is not null && required.Contains(member.Name)
                    : property.IsRequired || member is not null && !IsNullable(member, property.PropertyType);
                if (isRequired) names.Add(property.Name);
                // A required property is never null; one the validator requires should not be sent as null either.
                if (isRequired && schema.Properties.TryGetValue(property.Name, out var p) && p is OpenApiSchema ps && ps.Type is { } t
                    && (t & JsonSchemaType.Null) != 0)
                    ps.Type = t & ~JsonSchemaType.Null;
            }
            schema.Required = names;
        }
        return Task.CompletedTask;
    }

    /// <summary>Members with an unconditional NotNull or NotEmpty rule (a rule on a collection's items does not count).</summary>
    private static HashSet<string> RequiredByValidator(IValidator validator)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (validator is not IEnumerable<IValidationRule> rules) return names;
        foreach (var rule in rules)
        {
            if (rule.PropertyName is null || rule.GetType().Name.StartsWith("CollectionPropertyRule", StringComparison.Ordinal)) continue;
            if (rule.Components.Any(c => !c.HasCondition && !c.HasAsyncCondition && c.Validator is INotNullValidator or INotEmptyValidator))
                names.Add(rule.PropertyName);
        }
        return names;
    }

    private static bool IsNullable(MemberInfo member, Type type)
    {
        if (type.IsValueType) return Nullable.GetUnderlyingType(type) is not null;
        return member switch
        {
            PropertyInfo p => new NullabilityInfoContext().Create(p).ReadState != NullabilityState.NotNull,
            FieldInfo f => new NullabilityInfoContext().Create(f).ReadState != NullabilityState.NotNull,
            _ => true,
        };
    }
}
