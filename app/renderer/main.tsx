import './styles.css';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { getApi } from './api/index.js';

const root = document.getElementById('root');
if (root) createRoot(root).render(<App api={getApi()} />);
