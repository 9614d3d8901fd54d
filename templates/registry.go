package templates

import (
	"github.com/cachegen/cachegen/gen"
	"github.com/dave/jennifer/jen"
)

// multilineCall renders call arguments one per line.
var multilineCall = jen.Options{Open: "(", Close: ")", Separator: ",", Multi: true}

// registry emits the package's Repos and NewRepos, once per package (in
// the generated file of pkg.RegistryFile): every repository (of the files
// built with that one), built
// together and added to one runtime.Registry, where the loaders find the
// repositories of the models they relate.
func registry(f *jen.File, pkg *gen.Package) {
	models := pkg.RegistryModels()
	var fields []jen.Code
	for _, m := range models {
		fields = append(fields, jen.Id(m.Plural).Op("*").Id(m.Repo).Comment("table "+m.Table))
	}
	f.Commentf("Repos holds the repository of every model of package %s. NewRepos", pkg.Name)
	f.Comment("builds them together and wires them through one runtime.Registry, so that")
	f.Comment("each loader reads the rows it relates through their own repository and cache.")
	f.Type().Id("Repos").Struct(fields...)
	f.Line()

	body := []jen.Code{
		jen.List(jen.Id("reg"), jen.Id("opts")).Op(":=").Qual(enginePkg, "RegistryOf").Call(jen.Id("opts")),
		jen.Var().Id("rs").Id("Repos"),
		jen.Var().Id("errs").Index(jen.Lit(len(models))).Error(),
	}
	var provide []jen.Code
	for i, m := range models {
		field := jen.Id("rs").Dot(m.Plural)
		body = append(body, jen.List(field.Clone(), jen.Id("errs").Index(jen.Lit(i))).Op("=").
			Id(m.New).Call(jen.Id("db"), jen.Id("store"), jen.Id("opts").Op("...")))
		provide = append(provide, jen.Qual(runtimePkg, "Provide").Call(jen.Id("reg"), field))
	}
	body = append(body,
		jen.Comment("Every repository is made before an error is returned, so that"),
		jen.Comment("runtime.WithVerify reports the problems of every table at once."),
		jen.If(
			jen.Err().Op(":=").Qual("errors", "Join").Call(jen.Id("errs").Index(jen.Op(":")).Op("...")),
			jen.Err().Op("!=").Nil(),
		).Block(jen.Return(jen.Nil(), jen.Err())),
	)
	body = append(body,
		jen.If(
			jen.Err().Op(":=").Qual("errors", "Join").Custom(multilineCall, provide...),
			jen.Err().Op("!=").Nil(),
		).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Op("&").Id("rs"), jen.Nil()),
	)
	f.Comment("NewRepos returns the repository of every model of this package on db,")
	f.Comment("caching in store, each made with opts. They find each other in the registry")
	f.Comment("opts name with runtime.WithRegistry, or else in a new one: give the same")
	f.Comment("runtime.WithRegistry to the NewRepos of every package whose models foreign")
	f.Comment("keys connect. A registry serves one database and store.")
	f.Func().Id("NewRepos").Params(
		jen.Id("db").Op("*").Qual(sqlxPkg, "DB"),
		jen.Id("store").Qual(runtimePkg, "Store"),
		jen.Id("opts").Op("...").Qual(runtimePkg, "Option"),
	).Params(jen.Op("*").Id("Repos"), jen.Error()).Block(body...)
	f.Line()
}
