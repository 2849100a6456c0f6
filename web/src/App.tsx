import { Route, Routes } from "react-router";
import { Layout } from "./components/Layout";
import { ComparePage } from "./pages/Compare";
import { DatasetsPage } from "./pages/Datasets";
import { NotFoundPage } from "./pages/NotFound";
import { OverviewPage } from "./pages/Overview";
import { PipelinesPage } from "./pages/Pipelines";
import { RunPage } from "./pages/Run";
import { RunsPage } from "./pages/Runs";
import { SweepsPage } from "./pages/Sweeps";

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<OverviewPage />} />
        <Route path="runs" element={<RunsPage />} />
        <Route path="runs/:id" element={<RunPage />} />
        <Route path="compare" element={<ComparePage />} />
        <Route path="pipelines" element={<PipelinesPage />} />
        <Route path="datasets" element={<DatasetsPage />} />
        <Route path="datasets/:name" element={<DatasetsPage />} />
        <Route path="sweeps" element={<SweepsPage />} />
        <Route path="sweeps/:id" element={<SweepsPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
