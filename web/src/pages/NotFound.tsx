import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <div className="error-state" role="alert" data-error="not_found">
      <span className="error-icon" aria-hidden="true">
        ?
      </span>
      <p className="error-title">Page not found</p>
      <p className="error-body">There is nothing at this address.</p>
      <div className="row gap">
        <Link className="btn" to="/">
          Overview
        </Link>
        <Link className="btn" to="/runs">
          All runs
        </Link>
      </div>
    </div>
  );
}
