using System.Runtime.CompilerServices;
using FluentValidation;
using JasperFx;
using JasperFx.CodeGeneration;
using JasperFx.CodeGeneration.Frames;
using Wolverine.Http;
using Wolverine.Http.CodeGen;

namespace Aetherra.Api.Http;

/// <summary>
/// Checks every endpoint's request body before the endpoint: first what no field may hold on any route
/// (<see cref="InputText"/>), then the registered FluentValidation validator of that body, if any. A failure
/// ends the request with a 400 ValidationProblemDetails listing each field, and nothing runs.
/// </summary>
public sealed class ValidationPolicy : IHttpPolicy
{
    public void Apply(IReadOnlyList<HttpChain> chains, GenerationRules rules, IServiceContainer container)
    {
        foreach (var chain in chains.Where(c => c.HasRequestType && c.RequestType != typeof(void)))
        {
            chain.Metadata.ProducesValidationProblem();
            var frames = new List<Frame>();
            var check = new MethodCall(typeof(RequestValidation),
                typeof(RequestValidation).GetMethod(nameof(RequestValidation.CheckInput))!.MakeGenericMethod(chain.RequestType!))
                { CommentText = "Text, numbers and ids no field may hold" };
            frames.AddRange([check, new MaybeEndWithResultFrame(check.ReturnVariable!)]);
            var validator = typeof(IValidator<>).MakeGenericType(chain.RequestType!);
            if (container.RegistrationsFor(validator).Any())
            {
                var method = typeof(RequestValidation).GetMethod(nameof(RequestValidation.ValidateAsync))!
                    .MakeGenericMethod(chain.RequestType!);
                var call = new MethodCall(typeof(RequestValidation), method) { CommentText = "FluentValidation" };
                frames.AddRange([call, new MaybeEndWithResultFrame(call.ReturnVariable!)]);
            }
            chain.Middleware.InsertRange(0, frames);
        }
    }
}

public static class RequestValidation
{
    public static IResult CheckInput<T>(T? body, HttpContext context) =>
        InputText.Check(body) is { Count: > 0 } errors ? Invalid(context, errors) : WolverineContinue.Result();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static async Task<IResult> ValidateAsync<T>(IValidator<T> validator, T? body, HttpContext context)
    {
        if (body is null)
            return Invalid(context, new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] });
        var result = await validator.ValidateAsync(body, context.RequestAborted);
        return result.IsValid ? WolverineContinue.Result() : Invalid(context, result);
    }

    /// <summary>The 400 answer for a failed validation, its errors keyed by the JSON path of each field.</summary>
    public static IResult Invalid(HttpContext context, FluentValidation.Results.ValidationResult result) =>
        Invalid(context, result.Errors
            .GroupBy(e => CamelCasePath(e.PropertyName))
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray()));

    public static IResult Invalid(HttpContext context, IDictionary<string, string[]> errors)
    {
        context.Items[Problems.ReasonItem] = "validation failed: " + string.Join(", ", errors.Keys);
        return Results.ValidationProblem(errors, instance: context.Request.Path);
    }

    /// <summary>"Memories[3].Content" -> "memories[3].content", to match the JSON the client sent.</summary>
    public static string CamelCasePath(string path) =>
        string.Join('.', path.Split('.').Select(p => p.Length == 0 ? p : char.ToLowerInvariant(p[0]) + p[1..]));
}
