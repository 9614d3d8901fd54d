package models_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/jmoiron/sqlx"
)

// The SQL each dialect receives, checked statement by statement. No store:
// these tests are about the database side only.

type dialectCase struct {
	driver string
	q      func(string) string // quotes an identifier
	ph     func(int) string    // the n-th placeholder
}

var dialects = []dialectCase{
	{"sqlite", bq, question}, // never double quotes: SQLite reads an unknown "name" as a string
	{"pgx", dq, dollar},
	{"mysql", bq, question},
}

func dq(s string) string  { return `"` + s + `"` }
func bq(s string) string  { return "`" + s + "`" }
func question(int) string { return "?" }
func dollar(n int) string { return "$" + strconv.Itoa(n) }
func cols(q func(string) string) string {
	return q("id") + ", " + q("email") + ", " + q("org_id") + ", " + q("handle") + ", " + q("name")
}

func mockUsers(t *testing.T, driver string) (*models.UserRepo, sqlmock.Sqlmock) {
	t.Helper()
	raw, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close()
	})
	users, err := models.NewUserRepo(sqlx.NewDb(raw, driver), nil)
	if err != nil {
		t.Fatal(err)
	}
	return users, mock
}

func userRow() *sqlmock.Rows {
	return sqlmock.NewRows([]string{"id", "email", "org_id", "handle", "name"}).AddRow(5, "a@x.org", 1, "a", "A")
}

func TestSQLShape(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		q, ph := d.q, d.ph
		sel := "SELECT " + cols(q) + " FROM " + q("users")
		t.Run(d.driver+"/get", func(t *testing.T) {
			users, mock := mockUsers(t, d.driver)
			mock.ExpectQuery(sel + " WHERE " + q("email") + " = " + ph(1)).WithArgs("a@x.org").WillReturnRows(userRow())
			mock.ExpectQuery(sel+" WHERE "+q("org_id")+" = "+ph(1)+" AND "+q("handle")+" = "+ph(2)).WithArgs(1, "a").WillReturnRows(userRow())
			mock.ExpectQuery(sel + " ORDER BY " + q("id")).WillReturnRows(userRow())
			if u, err := users.GetByEmail(ctx, "a@x.org"); err != nil || u.ID != 5 {
				t.Fatalf("GetByEmail: %+v, %v", u, err)
			}
			if _, err := users.GetByOrgIDHandle(ctx, 1, "a"); err != nil {
				t.Fatal(err)
			}
			if all, err := users.All(ctx); err != nil || len(all) != 1 {
				t.Fatalf("All: %v, %v", all, err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(d.driver+"/insert", func(t *testing.T) {
			users, mock := mockUsers(t, d.driver)
			ins := "INSERT INTO " + q("users") + " (" + q("email") + ", " + q("org_id") + ", " + q("handle") + ", " + q("name") + ") VALUES (" + ph(1) + ", " + ph(2) + ", " + ph(3) + ", " + ph(4) + ")"
			mock.ExpectBegin()
			if d.driver == "pgx" {
				mock.ExpectQuery(ins+" RETURNING "+q("id")).WithArgs("b@x.org", 2, "b", "B").WillReturnRows(sqlmock.NewRows([]string{"id"}).AddRow(42))
			} else {
				mock.ExpectExec(ins).WithArgs("b@x.org", 2, "b", "B").WillReturnResult(sqlmock.NewResult(42, 1))
			}
			mock.ExpectCommit()
			u := &models.User{Email: "b@x.org", OrgID: 2, Handle: "b", Name: "B"}
			if err := users.Save(ctx, u); err != nil || u.ID != 42 {
				t.Fatalf("Save: id %d, %v", u.ID, err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(d.driver+"/update", func(t *testing.T) {
			users, mock := mockUsers(t, d.driver)
			mock.ExpectBegin()
			forUpdate := " FOR UPDATE"
			if d.driver == "sqlite" {
				mock.ExpectExec("UPDATE " + q("users") + " SET " + q("id") + " = " + q("id") + " WHERE " + q("id") + " = ?").WithArgs(5).WillReturnResult(sqlmock.NewResult(0, 1))
				forUpdate = ""
			}
			mock.ExpectQuery(sel + " WHERE " + q("id") + " = " + ph(1) + forUpdate).WithArgs(5).WillReturnRows(userRow())
			mock.ExpectExec("UPDATE "+q("users")+" SET "+q("email")+" = "+ph(1)+", "+q("org_id")+" = "+ph(2)+", "+q("handle")+" = "+ph(3)+", "+q("name")+" = "+ph(4)+" WHERE "+q("id")+" = "+ph(5)).
				WithArgs("new@x.org", 1, "a", "A", 5).WillReturnResult(sqlmock.NewResult(0, 1))
			mock.ExpectCommit()
			u := &models.User{ID: 5, Email: "new@x.org", OrgID: 1, Handle: "a", Name: "A"}
			if err := users.Save(ctx, u); err != nil {
				t.Fatal(err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(d.driver+"/delete", func(t *testing.T) {
			users, mock := mockUsers(t, d.driver)
			mock.ExpectBegin()
			forUpdate := " FOR UPDATE"
			if d.driver == "sqlite" {
				mock.ExpectExec("UPDATE " + q("users") + " SET " + q("id") + " = " + q("id") + " WHERE " + q("id") + " = ?").WithArgs(5).WillReturnResult(sqlmock.NewResult(0, 1))
				forUpdate = ""
			}
			mock.ExpectQuery(sel + " WHERE " + q("id") + " = " + ph(1) + forUpdate).WithArgs(5).WillReturnRows(userRow())
			mock.ExpectExec("DELETE FROM " + q("users") + " WHERE " + q("id") + " = " + ph(1)).WithArgs(5).WillReturnResult(sqlmock.NewResult(0, 1))
			mock.ExpectCommit()
			if err := users.Delete(ctx, 5); err != nil {
				t.Fatal(err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(d.driver+"/failed-insert-restores-row", func(t *testing.T) {
			users, mock := mockUsers(t, d.driver)
			mock.ExpectBegin()
			if d.driver == "pgx" {
				mock.ExpectQuery("INSERT INTO " + q("users") + " (" + q("email") + ", " + q("org_id") + ", " + q("handle") + ", " + q("name") + ") VALUES ($1, $2, $3, $4) RETURNING " + q("id")).WillReturnRows(sqlmock.NewRows([]string{"id"}).AddRow(9))
			} else {
				mock.ExpectExec("INSERT INTO " + q("users") + " (" + q("email") + ", " + q("org_id") + ", " + q("handle") + ", " + q("name") + ") VALUES (?, ?, ?, ?)").WillReturnResult(sqlmock.NewResult(9, 1))
			}
			mock.ExpectCommit().WillReturnError(errCommit)
			u := &models.User{Email: "c@x.org", OrgID: 3, Handle: "c", Name: "C"}
			if err := users.Save(ctx, u); err == nil {
				t.Fatal("a failed commit was reported as a success")
			}
			if u.ID != 0 {
				t.Fatalf("failed Save left id %d in the row", u.ID)
			}
		})
	}
}

var errCommit = sqlmock.ErrCancelled
